import type { Changes, SyncCursor, SyncEvent, UserEvent } from '@parley/protocol';

/**
 * Where an event comes from: `live` on the socket as it happens, or `sync` in the answer to a
 * sync request, which is contiguous from the cursor it was asked for.
 */
export type EventOrigin = 'live' | 'sync';

/** What to do with an event: apply it, drop it as one already applied, or fetch what is missing before it. */
export type Verdict = 'apply' | 'duplicate' | 'gap';

/** A cursor of its own (the given one copied, or the very start), so a caller's object is never changed. */
export function startCursor(from?: SyncCursor): SyncCursor {
  return from ? { userSeq: from.userSeq, chats: { ...from.chats } } : { userSeq: 0, chats: {} };
}

/**
 * Checks an event's position against the cursor: an old position is a duplicate; a live event past
 * the next position means something was missed. A sync answer starts where the cursor is (or where
 * I joined, for a chat new to this device), so its chat events are taken as they come.
 * @example
 *   if (judge(cursor, event, 'live') === 'gap') void rt.sync();
 */
export function judge(cursor: SyncCursor, event: SyncEvent, origin: EventOrigin): Verdict {
  if (event.log === 'user') return judgeUser(cursor, event);
  const known = cursor.chats[event.chatId];
  if (origin === 'live' && (known === undefined || event.seq > known + 1)) return 'gap';
  if (known !== undefined && event.seq <= known) return 'duplicate';
  return 'apply';
}

/** The personal log is contiguous from either origin: a later position waits for the ones before it. */
function judgeUser(cursor: SyncCursor, event: UserEvent): Verdict {
  if (event.userSeq <= cursor.userSeq) return 'duplicate';
  if (event.userSeq > cursor.userSeq + 1) return 'gap';
  return 'apply';
}

/** The cursor after applying an event that `judge` said to apply. */
export function advance(cursor: SyncCursor, event: SyncEvent): SyncCursor {
  if (event.log === 'chat') return { userSeq: cursor.userSeq, chats: { ...cursor.chats, [event.chatId]: event.seq } };
  return { userSeq: event.userSeq, chats: chatsAfter(cursor.chats, event) };
}

/** How a personal event changes the set of chats I follow. */
function chatsAfter(chats: SyncCursor['chats'], event: UserEvent): SyncCursor['chats'] {
  const chatId = event.chatId;
  if (!chatId) return chats;
  if (event.type === 'chat.joined') {
    // Joining again after leaving: what happened in between is not mine, so start from the join.
    const joinedAt = event.seq ?? 0;
    const known = chats[chatId];
    return known === undefined || known < joinedAt ? { ...chats, [chatId]: joinedAt } : chats;
  }
  if (event.type === 'chat.left' || event.type === 'chat.deleted') {
    const { [chatId]: _gone, ...rest } = chats;
    return rest;
  }
  return chats;
}

/**
 * The cursor a sync answer leaves: the chats it names (the ones I am in), each at the later of its
 * position and mine, since live events applied meanwhile may be ahead of the answer.
 */
export function mergeAnswer(cursor: SyncCursor, answer: Pick<Changes, 'userSeq' | 'chats'>): SyncCursor {
  const chats: SyncCursor['chats'] = {};
  for (const [id, seq] of Object.entries(answer.chats)) chats[id] = Math.max(seq, cursor.chats[id] ?? 0);
  return { userSeq: Math.max(cursor.userSeq, answer.userSeq), chats };
}
