import type { Changes, ChatEvent, SyncEvent } from '@parley/protocol';
import type { MessagesTable } from '../../adapters/db/schema.ts';
import type { Actor, Services } from '../../services.ts';
import { chatEventView, userEventView } from './log.ts';

export interface ChangesInput {
  userSeq: number;
  chats?: Record<string, number>;
  limit?: number;
}

const DEFAULT_LIMIT = 1000;

/**
 * What a device missed since its cursor: its personal log after `userSeq`, then, for each chat it
 * is in, the chat log after the position it has (or after the position it joined at, for a chat
 * it does not know yet). Each log is read in position order, so nothing is skipped or repeated.
 */
export async function getChanges(s: Services, actor: Actor, input: ChangesInput): Promise<Changes> {
  const limit = input.limit ?? DEFAULT_LIMIT;
  const known = input.chats ?? {};
  const k = s.db.kysely;

  const userRows = await k
    .selectFrom('user_events')
    .selectAll()
    .where('user_id', '=', actor.userId)
    .where('seq', '>', input.userSeq)
    .orderBy('seq')
    .limit(limit + 1)
    .execute();
  const userMore = userRows.length > limit;
  const events: SyncEvent[] = userRows.slice(0, limit).map(userEventView);
  const userSeq = events.length > 0 ? (events[events.length - 1] as { userSeq: number }).userSeq : input.userSeq;

  const memberships = await k
    .selectFrom('members')
    .innerJoin('chats', 'chats.id', 'members.chat_id')
    .select(['members.chat_id', 'members.joined_seq', 'members.hidden_seq', 'chats.last_seq'])
    .where('members.user_id', '=', actor.userId)
    .where('chats.deleted_at', 'is', null)
    .orderBy('members.chat_id')
    .execute();

  // The new cursor names every chat I am in; chats I left drop out of it.
  const chats: Record<string, number> = {};
  let room = limit - events.length;
  let hasMore = userMore;
  for (const m of memberships) {
    // Never before the position I joined at: what happened before (or between membership spells) is not mine.
    // A device new to a chat I deleted for myself starts where I deleted it, as listMessages does.
    const start = known[m.chat_id] ?? (m.hidden_seq === null ? 0 : Number(m.hidden_seq));
    const from = Math.max(start, Number(m.joined_seq));
    chats[m.chat_id] = from;
    const last = Number(m.last_seq);
    if (last <= from) continue;
    // Personal events come first, across pages too: a chat left and joined again further on in my
    // log must not have its positions handed out before the device has read that far.
    if (room <= 0 || userMore) {
      hasMore = true;
      continue;
    }
    const rows = await k
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
      ])
      .where('chat_events.chat_id', '=', m.chat_id)
      .where('chat_events.seq', '>', from)
      .orderBy('chat_events.seq')
      .limit(room)
      .execute();
    for (const r of rows) {
      const message: MessagesTable | null =
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
            };
      events.push(chatEventView(r, message) as ChatEvent);
    }
    room -= rows.length;
    if (rows.length > 0) chats[m.chat_id] = Number(rows[rows.length - 1]!.seq);
    if (chats[m.chat_id]! < last) hasMore = true;
  }
  return { events, userSeq, chats, hasMore };
}
