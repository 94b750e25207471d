import type { Reaction, Attachment, ChatEvent, ChatNotice, Forwarded, Message, UserEvent } from '@parley/protocol';
import type { ChatEventsTable, MessagesTable, UserEventsTable } from '../../adapters/db/schema.ts';
import { iso } from '../../lib/time.ts';

/**
 * A message as the wire shows it. It lives with the event log because message events carry the
 * message as it is now; the messages and chats modules use it too.
 */
export function toMessage(row: MessagesTable): Message {
  return {
    id: row.id,
    chatId: row.chat_id,
    seq: Number(row.seq),
    senderId: row.sender_id,
    kind: row.kind,
    text: row.deleted_at === null ? row.text : null,
    clientMessageId: row.client_message_id,
    replyToId: row.reply_to_id,
    createdAt: iso(row.created_at),
    editedAt: row.edited_at === null ? null : iso(row.edited_at),
    deletedAt: row.deleted_at === null ? null : iso(row.deleted_at),
    ...(row.attachments && row.deleted_at === null ? { attachments: JSON.parse(row.attachments) as Attachment[] } : {}),
    ...(row.kind === 'mls' && row.ciphertext && row.deleted_at === null
      ? { mls: { epoch: Number(row.mls_epoch), ciphertext: Buffer.from(row.ciphertext).toString('base64'), editOf: row.edit_of ?? null } }
      : {}),
    ...(row.reactions && row.deleted_at === null ? { reactions: JSON.parse(row.reactions) as Reaction[] } : {}),
    ...(row.forwarded && row.deleted_at === null ? { forwarded: JSON.parse(row.forwarded) as Forwarded } : {}),
    ...(row.mentions && row.deleted_at === null ? { mentions: JSON.parse(row.mentions) as string[] } : {}),
    ...(row.pinned_at != null && row.deleted_at === null ? { pinnedAt: iso(Number(row.pinned_at)) } : {}),
  };
}

/** What a chat event row keeps in its `data` column. */
export interface ChatEventData {
  member?: ChatEvent['member'];
  title?: string;
  avatarFileId?: string | null;
  read?: ChatEvent['read'];
  call?: ChatEvent['call'];
  mls?: ChatEvent['mls'];
  pinned?: boolean;
}

export function chatEventView(row: ChatEventsTable, message?: MessagesTable | null): ChatEvent {
  const data: ChatEventData = row.data ? JSON.parse(row.data) : {};
  return {
    log: 'chat',
    type: row.type as ChatEvent['type'],
    chatId: row.chat_id,
    seq: Number(row.seq),
    actorId: row.actor_id,
    at: iso(row.created_at),
    ...(message ? { message: toMessage(message) } : {}),
    ...data,
  };
}

/** A change shown as a service line among a chat's messages. */
export function chatNoticeView(row: ChatEventsTable): ChatNotice {
  const data: ChatEventData = row.data ? JSON.parse(row.data) : {};
  return {
    type: row.type as ChatNotice['type'],
    seq: Number(row.seq),
    actorId: row.actor_id,
    at: iso(row.created_at),
    ...(data.member ? { member: data.member } : {}),
    ...(data.title !== undefined ? { title: data.title } : {}),
    ...(data.avatarFileId !== undefined ? { avatarFileId: data.avatarFileId } : {}),
    ...(data.call ? { call: data.call } : {}),
  };
}

export function userEventView(row: UserEventsTable): UserEvent {
  const data = row.data ? JSON.parse(row.data) : {};
  return {
    log: 'user',
    type: row.type as UserEvent['type'],
    userSeq: Number(row.seq),
    at: iso(row.created_at),
    ...(row.chat_id ? { chatId: row.chat_id } : {}),
    ...data,
  };
}
