import { Type, type Static } from 'typebox';
import { endpoint } from '../endpoint.ts';
import { Id, Role, Strict, Timestamp } from '../common.ts';
import { CallRecord, Message } from './messages.ts';
import { FileId } from './files.ts';
import { Base64, MAX_COMMIT_BYTES, MAX_WELCOME_BYTES, MlsDeviceRef } from './e2ee.ts';

/** A commit of the chat's MLS group, as recorded at its position. */
export const MlsCommitRecord = Strict(
  {
    epoch: Type.Integer({ minimum: 1, description: 'The epoch the commit created' }),
    payload: Base64(MAX_COMMIT_BYTES, 'The commit as posted (an MLSMessage)'),
    welcome: Type.Optional(Base64(MAX_WELCOME_BYTES, 'The Welcome for the devices it adds')),
    senderDeviceId: Id,
    clientCommitId: Type.String(),
    addedDevices: Type.Array(MlsDeviceRef),
    removedDevices: Type.Array(MlsDeviceRef),
  },
  'mls.commit: what every device of the group processes, in chat order',
);
export type MlsCommitRecord = Static<typeof MlsCommitRecord>;

/** Changes recorded in a chat's log, each at a position (`seq`) of that chat. */
export const CHAT_EVENT_TYPES = [
  'message.created',
  'message.edited',
  'message.deleted',
  'message.reacted',
  'message.pinned',
  'member.added',
  'member.removed',
  'member.updated',
  'chat.updated',
  'read.updated',
  'call.ended',
  'mls.commit',
] as const;

/** Changes recorded in my personal log, each at a position (`userSeq`) of that log. */
export const USER_EVENT_TYPES = [
  'chat.joined',
  'chat.left',
  'chat.deleted',
  'chat.hidden',
  'chat.read',
  'chat.muted',
  'session.terminated',
  'device.registered',
  'device.approved',
  'device.ended',
  'device_list.updated',
  'key_packages.low',
] as const;

export const ChatEvent = Strict(
  {
    log: Type.Literal('chat'),
    type: Type.Enum(CHAT_EVENT_TYPES),
    chatId: Id,
    seq: Type.Integer({ minimum: 1, description: 'Position in the chat log: events of a chat arrive in seq order, without gaps' }),
    actorId: Type.Union([Id, Type.Null()]),
    at: Timestamp,
    message: Type.Optional(Message),
    member: Type.Optional(Strict({ userId: Id, role: Type.Union([Role, Type.Null()], { description: 'null once removed' }) })),
    title: Type.Optional(Type.String()),
    avatarFileId: Type.Optional(Type.Union([FileId, Type.Null()], { description: "chat.updated: the chat's new picture (null: removed)" })),
    read: Type.Optional(Strict({ userId: Id, seq: Type.Integer({ minimum: 0 }) })),
    call: Type.Optional(CallRecord),
    mls: Type.Optional(MlsCommitRecord),
    pinned: Type.Optional(Type.Boolean({ description: 'message.pinned: true when pinned, false when unpinned' })),
  },
  'A change in a chat. Message events carry the message as it is now.',
);
export type ChatEvent = Static<typeof ChatEvent>;

export const UserEvent = Strict(
  {
    log: Type.Literal('user'),
    type: Type.Enum(USER_EVENT_TYPES),
    userSeq: Type.Integer({ minimum: 1, description: 'Position in my personal log' }),
    at: Timestamp,
    chatId: Type.Optional(Id),
    seq: Type.Optional(Type.Integer({ minimum: 0, description: 'chat.joined: the chat position I joined at; chat.read/hidden: the position' })),
    sessionId: Type.Optional(Id),
    deviceId: Type.Optional(Id),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'device_list.updated: the version published' })),
    muted: Type.Optional(Type.Boolean()),
  },
  'A change that concerns only me: added to or removed from a chat, my read positions, my sessions and E2EE devices',
);
export type UserEvent = Static<typeof UserEvent>;

export const SyncEvent = Type.Union([ChatEvent, UserEvent]);
export type SyncEvent = ChatEvent | UserEvent;

const Positions = Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), Type.Integer({ minimum: 0 }), {
  description: 'Chat id → the last position I have of that chat',
});

export const SyncCursor = Strict(
  {
    userSeq: Type.Integer({ minimum: 0, description: 'The last position I have of my personal log' }),
    chats: Positions,
  },
  'Where a device is: what it has seen of its personal log and of each chat',
);
export type SyncCursor = Static<typeof SyncCursor>;

export const Changes = Strict(
  {
    events: Type.Array(SyncEvent, { description: 'Personal events first, then each chat in order of position' }),
    userSeq: Type.Integer({ minimum: 0 }),
    chats: Positions,
    hasMore: Type.Boolean({ description: 'Call again with the returned cursor for the rest' }),
  },
  'What a device missed, and its new cursor (userSeq and chats)',
);
export type Changes = Static<typeof Changes>;

export const getChanges = endpoint({
  id: 'getChanges',
  method: 'POST',
  path: '/sync',
  summary: 'Everything that changed since a cursor, in order, nothing twice, nothing skipped',
  tag: 'sync',
  auth: true,
  body: Strict({
    userSeq: Type.Integer({ minimum: 0 }),
    chats: Type.Optional(Positions),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, description: 'At most this many events (default 1000)' })),
  }),
  response: Changes,
  errors: ['unauthorized', 'invalid_request', 'rate_limited'],
});

export const Presence = Strict({ userId: Id, online: Type.Boolean(), lastSeenAt: Type.Union([Timestamp, Type.Null()]) }, 'Whether a user is online');
export type Presence = Static<typeof Presence>;

export const getPresence = endpoint({
  id: 'getPresence',
  method: 'POST',
  path: '/presence',
  summary: 'Online state of users who share a chat with me',
  tag: 'sync',
  auth: true,
  body: Strict({ userIds: Type.Array(Id, { minItems: 1, maxItems: 500, uniqueItems: true }) }),
  response: Strict({ presence: Type.Array(Presence) }),
  errors: ['unauthorized', 'invalid_request', 'rate_limited'],
});
