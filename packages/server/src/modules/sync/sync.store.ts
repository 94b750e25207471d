import type { Kysely } from 'kysely';
import type { ChatEventsTable, DB, MessagesTable, UserEventsTable } from '../../adapters/db/schema.ts';

export async function userEventsAfter(db: Kysely<DB>, options: { userId: string; after: number; limit: number }): Promise<UserEventsTable[]> {
  return db
    .selectFrom('user_events')
    .selectAll()
    .where('user_id', '=', options.userId)
    .where('seq', '>', options.after)
    .orderBy('seq')
    .limit(options.limit)
    .execute();
}

export interface CursorMembership {
  chatId: string;
  joinedSeq: number;
  hiddenSeq: number | null;
  lastSeq: number;
}

/** The chats a user is in, in id order, with what bounds their part of each chat's log. */
export async function cursorMemberships(db: Kysely<DB>, userId: string): Promise<CursorMembership[]> {
  const rows = await db
    .selectFrom('members')
    .innerJoin('chats', 'chats.id', 'members.chat_id')
    .select(['members.chat_id', 'members.joined_seq', 'members.hidden_seq', 'chats.last_seq'])
    .where('members.user_id', '=', userId)
    .where('chats.deleted_at', 'is', null)
    .orderBy('members.chat_id')
    .execute();
  return rows.map((r) => ({
    chatId: r.chat_id,
    joinedSeq: Number(r.joined_seq),
    hiddenSeq: r.hidden_seq === null ? null : Number(r.hidden_seq),
    lastSeq: Number(r.last_seq),
  }));
}

export interface LoggedChatEvent {
  row: ChatEventsTable;
  /** the message a message event is about, as it is now */
  message: MessagesTable | null;
}

/**
 * Chat events after a position in each of the given chats, chat by chat in id order and in
 * position order within a chat, at most `limit` in all: one query whatever the number of chats.
 */
export async function chatEventsAfter(db: Kysely<DB>, from: Map<string, number>, limit: number): Promise<LoggedChatEvent[]> {
  if (from.size === 0 || limit <= 0) return [];
  const rows = await db
    .selectFrom('chat_events')
    .leftJoin('messages', 'messages.id', 'chat_events.message_id')
    .selectAll('chat_events')
    .select([
      'messages.id as m_id',
      'messages.seq as m_seq',
      'messages.sender_id as m_sender_id',
      'messages.client_message_id as m_client_message_id',
      'messages.kind as m_kind',
      'messages.text as m_text',
      'messages.reply_to_id as m_reply_to_id',
      'messages.created_at as m_created_at',
      'messages.edited_at as m_edited_at',
      'messages.deleted_at as m_deleted_at',
      'messages.attachments as m_attachments',
      'messages.reactions as m_reactions',
      'messages.ciphertext as m_ciphertext',
      'messages.mls_epoch as m_mls_epoch',
      'messages.edit_of as m_edit_of',
      'messages.pinned_at as m_pinned_at',
      'messages.forwarded as m_forwarded',
      'messages.mentions as m_mentions',
    ])
    .where((eb) => eb.or([...from].map(([chatId, after]) => eb.and([eb('chat_events.chat_id', '=', chatId), eb('chat_events.seq', '>', after)]))))
    .orderBy('chat_events.chat_id')
    .orderBy('chat_events.seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    row: {
      chat_id: r.chat_id,
      seq: Number(r.seq),
      type: r.type,
      message_id: r.message_id,
      actor_id: r.actor_id,
      data: r.data,
      created_at: Number(r.created_at),
    },
    message:
      r.m_id == null
        ? null
        : {
            id: r.m_id,
            chat_id: r.chat_id,
            seq: Number(r.m_seq),
            sender_id: r.m_sender_id!,
            client_message_id: r.m_client_message_id!,
            kind: r.m_kind!,
            text: r.m_text ?? null,
            reply_to_id: r.m_reply_to_id ?? null,
            created_at: Number(r.m_created_at),
            edited_at: r.m_edited_at == null ? null : Number(r.m_edited_at),
            deleted_at: r.m_deleted_at == null ? null : Number(r.m_deleted_at),
            attachments: r.m_attachments ?? null,
            reactions: r.m_reactions ?? null,
            ciphertext: r.m_ciphertext ?? null,
            mls_epoch: r.m_mls_epoch == null ? null : Number(r.m_mls_epoch),
            edit_of: r.m_edit_of ?? null,
            pinned_at: r.m_pinned_at == null ? null : Number(r.m_pinned_at),
            forwarded: r.m_forwarded ?? null,
            mentions: r.m_mentions ?? null,
          },
  }));
}
