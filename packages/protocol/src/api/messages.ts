import { Type, type Static } from 'typebox';
import { endpoint } from '../endpoint.ts';
import { Id, Role, Strict, Timestamp } from '../common.ts';
import { NOTICE_TYPES } from '../constants.ts';
import { Attachment, AttachmentInput, MAX_ATTACHMENTS } from './files.ts';
import { MlsApplicationMessage } from './e2ee.ts';

/** Most people a reaction names; its count goes on past them (a channel may have thousands). */
export const REACTION_NAMES = 100;
/** Different emoji one person may put on one message. */
export const MAX_REACTIONS_PER_PERSON = 3;
/** Different emoji one message may carry. */
export const MAX_REACTIONS_PER_MESSAGE = 20;

export const Reaction = Strict(
  {
    emoji: Type.String(),
    count: Type.Integer({ minimum: 1 }),
    userIds: Type.Array(Id, { maxItems: REACTION_NAMES, description: `Who reacted so, first come first (at most ${REACTION_NAMES})` }),
  },
  'One emoji on a message: how many put it there, and who',
);
export type Reaction = Static<typeof Reaction>;

/** Most messages one chat may have pinned at once. */
export const MAX_PINS = 50;

export const Forwarded = Strict(
  {
    senderId: Id,
    senderName: Type.String({ description: "The original sender's display name when it was forwarded" }),
    chatTitle: Type.Optional(Type.String({ description: 'The channel it came from, when it came from one' })),
    at: Timestamp,
  },
  'Where a forwarded message first came from (a forward of a forward names the first origin)',
);
export type Forwarded = Static<typeof Forwarded>;

export const Message = Strict(
  {
    id: Id,
    chatId: Id,
    seq: Type.Integer({ minimum: 1, description: 'Position of the message in its chat' }),
    senderId: Id,
    kind: Type.Union([Type.Literal('text'), Type.Literal('mls')], {
      description: 'text: plaintext (text, attachments); mls: end-to-end encrypted, everything is inside `mls.ciphertext` (text is empty)',
    }),
    text: Type.Union([Type.String(), Type.Null()], { description: 'null once deleted; may be empty when the message has attachments' }),
    attachments: Type.Optional(Type.Array(Attachment, { maxItems: MAX_ATTACHMENTS, description: 'The files attached; absent when none (and once deleted)' })),
    clientMessageId: Type.String(),
    replyToId: Type.Union([Id, Type.Null()]),
    createdAt: Timestamp,
    editedAt: Type.Union([Timestamp, Type.Null()]),
    deletedAt: Type.Union([Timestamp, Type.Null()]),
    mls: Type.Optional(MlsApplicationMessage),
    reactions: Type.Optional(
      Type.Array(Reaction, {
        maxItems: MAX_REACTIONS_PER_MESSAGE,
        description: 'Emoji reactions in the order they first came; absent when none (and once deleted)',
      }),
    ),
    forwarded: Type.Optional(Forwarded),
    mentions: Type.Optional(Type.Array(Id, { description: 'Members of the group named as @username in the text; absent when none (and once deleted)' })),
    pinnedAt: Type.Optional(Timestamp),
  },
  'A message; a deleted one stays as a tombstone with text null',
);
export type Message = Static<typeof Message>;

const ChatParams = Strict({ chatId: Id });
const MessageParams = Strict({ chatId: Id, messageId: Id });
const Text = Type.String({ minLength: 1, maxLength: 65_536, description: '1 to 4096 Unicode code points (after NFC)' });

export const sendMessage = endpoint({
  id: 'sendMessage',
  method: 'POST',
  path: '/chats/:chatId/messages',
  summary:
    'Send a message: text and attachments, or in an end-to-end encrypted chat only `mls`, encrypted at the group\u2019s current epoch; a retry with the same clientMessageId returns the original',
  tag: 'messages',
  auth: true,
  params: ChatParams,
  body: Strict({
    text: Type.Optional(
      Type.String({ maxLength: 65_536, description: '1 to 4096 Unicode code points (after NFC); may be empty or absent when attachments are given' }),
    ),
    attachments: Type.Optional(
      Type.Array(AttachmentInput, { maxItems: MAX_ATTACHMENTS, description: `Finished uploads of mine to attach, at most ${MAX_ATTACHMENTS}` }),
    ),
    clientMessageId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Chosen by the client, unique per chat and sender' }),
    replyToId: Type.Optional(Id),
    mls: Type.Optional(MlsApplicationMessage),
    forwardFrom: Type.Optional(
      Strict({ chatId: Id, messageId: Id }, 'Forward this message of a chat I can read: its text and files are copied (give no text or attachments with it)'),
    ),
  }),
  response: Message,
  errors: [
    'unauthorized',
    'not_found',
    'invalid_request',
    'message_too_long',
    'cannot_post',
    'attachment_unavailable',
    'e2ee_required',
    'not_e2ee',
    'mls_message_invalid',
    'mls_epoch_conflict',
    'mls_commit_required',
    'mls_not_in_group',
    'device_not_active',
    'rate_limited',
  ],
});

/** How a call went, as the chat's history shows it. */
export const CallOutcome = Type.Union([Type.Literal('missed'), Type.Literal('declined'), Type.Literal('busy'), Type.Literal('completed')]);
export type CallOutcome = Static<typeof CallOutcome>;

export const CallRecord = Strict(
  {
    callId: Id,
    callerId: Id,
    outcome: CallOutcome,
    durationMs: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'completed: from the answer to the end; null otherwise' }),
  },
  'A call that ended, in the chat log',
);
export type CallRecord = Static<typeof CallRecord>;

export const ChatNotice = Strict(
  {
    type: Type.Enum(NOTICE_TYPES),
    seq: Type.Integer({ minimum: 1, description: 'Its position in the chat log, among the messages' }),
    actorId: Type.Union([Id, Type.Null()], { description: 'Who made the change (null: the server)' }),
    at: Timestamp,
    member: Type.Optional(Strict({ userId: Id, role: Type.Union([Role, Type.Null()], { description: 'null once removed' }) })),
    title: Type.Optional(Type.String({ description: 'chat.updated: the new title' })),
    avatarFileId: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: "chat.updated: the chat's new picture (null: removed)" })),
    call: Type.Optional(CallRecord),
  },
  'A change in a chat shown between its messages: someone added, removed, promoted; the chat renamed or its picture changed; a call',
);
export type ChatNotice = Static<typeof ChatNotice>;

export const listMessages = endpoint({
  id: 'listMessages',
  method: 'GET',
  path: '/chats/:chatId/messages',
  summary: 'A page of messages in position order: the latest, or before/after a position',
  tag: 'messages',
  auth: true,
  params: ChatParams,
  query: Strict({
    before: Type.Optional(Type.Integer({ minimum: 0 })),
    after: Type.Optional(Type.Integer({ minimum: 0 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'At most 100 (default 50)' })),
  }),
  response: Strict({
    messages: Type.Array(Message),
    hasMore: Type.Boolean({ description: 'More messages lie further in the asked direction' }),
    notices: Type.Array(ChatNotice, {
      description:
        "The chat's changes among these messages, for service lines: from the page's first message (or the start of my history) to its last (or now, at the newest end)",
    }),
  }),
  errors: ['unauthorized', 'not_found', 'invalid_request', 'rate_limited'],
});

export const editMessage = endpoint({
  id: 'editMessage',
  method: 'PATCH',
  path: '/chats/:chatId/messages/:messageId',
  summary: 'Edit my own message',
  tag: 'messages',
  auth: true,
  params: MessageParams,
  body: Strict({ text: Text }),
  response: Message,
  errors: ['unauthorized', 'not_found', 'forbidden', 'invalid_request', 'message_too_long', 'rate_limited'],
});

export const deleteMessage = endpoint({
  id: 'deleteMessage',
  method: 'DELETE',
  path: '/chats/:chatId/messages/:messageId',
  summary: 'Delete a message for everyone (the sender, or an admin of a group or channel)',
  tag: 'messages',
  auth: true,
  status: 204,
  params: MessageParams,
  errors: ['unauthorized', 'not_found', 'forbidden', 'rate_limited'],
});

export const markRead = endpoint({
  id: 'markRead',
  method: 'POST',
  path: '/chats/:chatId/read',
  summary: 'Mark the chat read up to a position',
  tag: 'messages',
  auth: true,
  params: ChatParams,
  body: Strict({ seq: Type.Integer({ minimum: 0 }) }),
  response: Strict({ readSeq: Type.Integer({ minimum: 0 }), unreadCount: Type.Integer({ minimum: 0 }) }),
  errors: ['unauthorized', 'not_found'],
});

/** Where the next page of search results starts: the last result's time and id. */
const SearchCursor = Type.String({ maxLength: 96, pattern: '^[0-9]{1,16}_[A-Za-z0-9_-]{1,64}$', description: 'nextCursor of the page before' });

export const searchMessages = endpoint({
  id: 'searchMessages',
  method: 'GET',
  path: '/search/messages',
  summary: 'Find messages by their words, newest first, in my chats (or in one): only what I can read there',
  tag: 'messages',
  auth: true,
  query: Strict({
    q: Type.String({
      minLength: 1,
      maxLength: 256,
      description: 'Words to find, each as a word or the start of one (all must appear); case and accents do not matter on SQLite, case only on PostgreSQL',
    }),
    chatId: Type.Optional(Id),
    before: Type.Optional(SearchCursor),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, description: 'At most 50 (default 20)' })),
  }),
  response: Strict({
    messages: Type.Array(Message),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as before for older results; null when there are none' }),
  }),
  errors: ['unauthorized', 'not_found', 'invalid_request', 'rate_limited'],
});

const Emoji = Type.String({ minLength: 1, maxLength: 64, description: 'One emoji (a single grapheme: flags, skin tones and joined sequences included)' });

export const addReaction = endpoint({
  id: 'addReaction',
  method: 'POST',
  path: '/chats/:chatId/messages/:messageId/reactions',
  summary: `React to a message with an emoji (at most ${MAX_REACTIONS_PER_PERSON} different ones per person); again with the same one changes nothing`,
  tag: 'messages',
  auth: true,
  params: MessageParams,
  body: Strict({ emoji: Emoji }),
  response: Message,
  errors: ['unauthorized', 'not_found', 'invalid_request', 'too_many_reactions', 'rate_limited'],
});

export const removeReaction = endpoint({
  id: 'removeReaction',
  method: 'DELETE',
  path: '/chats/:chatId/messages/:messageId/reactions',
  summary: 'Take my reaction back; one I did not make changes nothing',
  tag: 'messages',
  auth: true,
  params: MessageParams,
  query: Strict({ emoji: Emoji }),
  response: Message,
  errors: ['unauthorized', 'not_found', 'invalid_request', 'rate_limited'],
});

export const pinMessage = endpoint({
  id: 'pinMessage',
  method: 'POST',
  path: '/chats/:chatId/messages/:messageId/pin',
  summary: `Pin a message (in groups and channels only the owner and admins may); at most ${MAX_PINS} per chat; again changes nothing`,
  tag: 'messages',
  auth: true,
  params: MessageParams,
  response: Message,
  errors: ['unauthorized', 'not_found', 'forbidden', 'too_many_pins', 'rate_limited'],
});

export const unpinMessage = endpoint({
  id: 'unpinMessage',
  method: 'DELETE',
  path: '/chats/:chatId/messages/:messageId/pin',
  summary: 'Unpin a message (who may pin may unpin); one not pinned changes nothing',
  tag: 'messages',
  auth: true,
  params: MessageParams,
  response: Message,
  errors: ['unauthorized', 'not_found', 'forbidden', 'rate_limited'],
});

export const listPins = endpoint({
  id: 'listPins',
  method: 'GET',
  path: '/chats/:chatId/pins',
  summary: 'The pinned messages of a chat I can read, the latest pinned first',
  tag: 'messages',
  auth: true,
  params: ChatParams,
  response: Strict({ messages: Type.Array(Message, { maxItems: MAX_PINS }) }),
  errors: ['unauthorized', 'not_found', 'rate_limited'],
});
