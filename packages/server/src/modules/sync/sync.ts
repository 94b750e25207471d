import type { Changes, SyncEvent } from '@parley/protocol';
import { withinReadLimits } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { chatEventsAfter, cursorMemberships, userEventsAfter } from './sync.store.ts';
import { chatEventView, userEventView } from './views.ts';

export interface ChangesInput {
  userSeq: number;
  chats?: Record<string, number>;
  limit?: number;
}

const DEFAULT_LIMIT = 1000;
/** A page of changes stops growing past this many bytes (hasMore says the rest waits); at least one event is sent. */
export const PAGE_BYTES = 1024 * 1024;
/** Chat events are read in chunks of this many rows, so a page cut at its byte budget reads little more than it sends. */
const CHUNK_ROWS = 200;

/** An upper bound of an event's size as JSON: its fixed fields, and the text at 3 bytes per UTF-16 unit. */
function sizeOf(event: SyncEvent): number {
  if (event.log !== 'chat') return 512;
  const text = event.message?.text ?? '';
  // Ciphertexts and commits are base64 already: one byte per character.
  const mls = (event.message?.mls?.ciphertext.length ?? 0) + (event.mls ? event.mls.payload.length + (event.mls.welcome?.length ?? 0) : 0);
  return 512 + 3 * text.length + (event.title ? 3 * event.title.length : 0) + mls;
}

/**
 * What a device missed since its cursor: its personal log after `userSeq`, then, for each chat it
 * is in, the chat log after the position it has (or after the position it joined at, for a chat
 * it does not know yet). Each log is read in position order, so nothing is skipped or repeated.
 */
export function getChanges(s: Services, actor: Actor, input: ChangesInput): Promise<Changes> {
  return withinReadLimits(s, actor, () => readChanges(s, actor, input));
}

async function readChanges(s: Services, actor: Actor, input: ChangesInput): Promise<Changes> {
  const limit = input.limit ?? DEFAULT_LIMIT;
  const known = input.chats ?? {};
  const db = s.db.kysely;
  const page = new Page(limit);

  const userRows = await userEventsAfter(db, { userId: actor.userId, after: input.userSeq, limit: limit + 1 });
  let userSeq = input.userSeq;
  for (const row of userRows) {
    if (!page.add(userEventView(row))) break;
    userSeq = Number(row.seq);
  }
  const userMore = userRows.some((row) => Number(row.seq) > userSeq);

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
  if (userMore) return { events: page.events, userSeq, chats, hasMore: true };

  const from = new Map([...behind.keys()].map((chatId) => [chatId, chats[chatId]!]));
  while (page.open) {
    const want = Math.min(page.room, CHUNK_ROWS);
    const rows = await chatEventsAfter(db, from, want);
    for (const { row, message } of rows) {
      if (!page.add(chatEventView(row, message))) break;
      chats[row.chat_id] = row.seq;
      from.set(row.chat_id, row.seq);
    }
    if (rows.length < want) break;
  }
  const hasMore = [...behind].some(([chatId, last]) => chats[chatId]! < last);
  return { events: page.events, userSeq, chats, hasMore };
}

/** The events of one answer, bounded in count and in bytes. */
class Page {
  readonly events: SyncEvent[] = [];
  private bytes = 0;
  private full = false;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  get room(): number {
    return this.limit - this.events.length;
  }

  get open(): boolean {
    return !this.full && this.room > 0;
  }

  /** Adds an event if it fits (the first always does); false once the page is full. */
  add(event: SyncEvent): boolean {
    if (!this.open) return false;
    const size = sizeOf(event);
    if (this.events.length > 0 && this.bytes + size > PAGE_BYTES) {
      this.full = true;
      return false;
    }
    this.events.push(event);
    this.bytes += size;
    return true;
  }
}
