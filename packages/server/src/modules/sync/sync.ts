import type { Changes, SyncEvent } from '@parley/protocol';
import type { Actor, Services } from '../services.ts';
import { chatEventsAfter, cursorMemberships, userEventsAfter } from './sync.store.ts';
import { chatEventView, userEventView } from './views.ts';

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
  const db = s.db.kysely;

  const userRows = await userEventsAfter(db, { userId: actor.userId, after: input.userSeq, limit: limit + 1 });
  const userMore = userRows.length > limit;
  const events: SyncEvent[] = userRows.slice(0, limit).map(userEventView);
  const userSeq = userRows.length > 0 ? Number(userRows[Math.min(limit, userRows.length) - 1]!.seq) : input.userSeq;

  // The new cursor names every chat I am in; chats I left drop out of it. Never before the position
  // I joined at: what happened before (or between membership spells) is not mine. A device new to a
  // chat I deleted for myself starts where I deleted it, as listMessages does.
  const chats: Record<string, number> = {};
  const behind = new Map<string, number>();
  for (const m of await cursorMemberships(db, actor.userId)) {
    chats[m.chatId] = Math.max(known[m.chatId] ?? m.hiddenSeq ?? 0, m.joinedSeq);
    if (m.lastSeq > chats[m.chatId]!) behind.set(m.chatId, m.lastSeq);
  }
  // Personal events come first, across pages too: a chat left and joined again further on in my
  // log must not have its positions handed out before the device has read that far.
  if (userMore) return { events, userSeq, chats, hasMore: true };

  const from = new Map([...behind.keys()].map((chatId) => [chatId, chats[chatId]!]));
  for (const { row, message } of await chatEventsAfter(db, from, limit - events.length)) {
    events.push(chatEventView(row, message));
    chats[row.chat_id] = row.seq;
  }
  const hasMore = [...behind].some(([chatId, last]) => chats[chatId]! < last);
  return { events, userSeq, chats, hasMore };
}
