import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import { precompiled } from '../../adapters/db/precompiled.ts';
import type { ChatEventsTable, ChatsTable, DB, UserEventsTable } from '../../adapters/db/schema.ts';

/** Takes the next position of a chat. The row lock it holds until commit makes positions commit in order. */
export async function nextChatSeq(tx: Tx, chatId: string): Promise<number> {
  const row = await tx
    .updateTable('chats')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', chatId)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  return Number(row.last_seq);
}

/** Takes `count` positions of a chat at once; returns the last (they are last - count + 1 to last). */
export async function takeChatSeqs(tx: Tx, options: { chatId: string; count: number }): Promise<number> {
  const row = await tx
    .updateTable('chats')
    .set((eb) => ({ last_seq: eb('last_seq', '+', options.count) }))
    .where('id', '=', options.chatId)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  return Number(row.last_seq);
}

/** Rows per multi-row insert: well under SQLite's limit of bound values per statement. */
const BULK_ROWS = 200;

export async function insertChatEventRows(tx: Tx, rows: ChatEventsTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += BULK_ROWS)
    await tx
      .insertInto('chat_events')
      .values(rows.slice(i, i + BULK_ROWS))
      .execute();
}

/** Appends one event to each of several users' logs: one position taken per user, in one statement per chunk. */
export async function appendUserEventRows(tx: Tx, rows: Omit<UserEventsTable, 'seq'>[]): Promise<UserEventsTable[]> {
  const out: UserEventsTable[] = [];
  for (let i = 0; i < rows.length; i += BULK_ROWS) {
    const chunk = rows.slice(i, i + BULK_ROWS);
    const taken = await tx
      .updateTable('users')
      .set((eb) => ({ event_seq: eb('event_seq', '+', 1) }))
      .where(
        'id',
        'in',
        chunk.map((r) => r.user_id),
      )
      .returning(['id', 'event_seq'])
      .execute();
    const seqOf = new Map(taken.map((t) => [t.id, Number(t.event_seq)]));
    const full = chunk.map((r) => ({ ...r, seq: seqOf.get(r.user_id)! }));
    await tx.insertInto('user_events').values(full).execute();
    out.push(...full);
  }
  return out;
}

// On the send path, for every message.
const takeLivePosition = precompiled((db, chatId: string) =>
  db
    .updateTable('chats')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', chatId)
    .where('deleted_at', 'is', null)
    .returning(['last_seq', 'kind', 'e2ee', 'mls_epoch']),
);

/**
 * Like nextChatSeq, for a chat that is not deleted, and says what kind of chat it is and whether
 * it is end-to-end encrypted; undefined when there is none.
 */
export async function nextLiveChatSeq(
  tx: Tx,
  chatId: string,
): Promise<{ seq: number; kind: ChatsTable['kind']; e2ee: boolean; mlsEpoch: number | null } | undefined> {
  const [row] = await takeLivePosition(tx, chatId);
  return (
    row && { seq: Number(row.last_seq), kind: row.kind, e2ee: Number(row.e2ee ?? 0) === 1, mlsEpoch: row.mls_epoch == null ? null : Number(row.mls_epoch) }
  );
}

const insertChatEvent = precompiled(
  (db: Kysely<DB>, chatId: string, seq: number, type: string, messageId: string | null, actorId: string | null, data: string | null, createdAt: number) =>
    db.insertInto('chat_events').values({ chat_id: chatId, seq, type, message_id: messageId, actor_id: actorId, data, created_at: createdAt }),
);

export async function insertChatEventRow(tx: Tx, row: ChatEventsTable): Promise<void> {
  await insertChatEvent(tx, row.chat_id, row.seq, row.type, row.message_id, row.actor_id, row.data, row.created_at);
}

/** Appends to a user's log at the next position of it (the user row lock orders concurrent appends). */
export async function appendUserEventRow(tx: Tx, row: Omit<UserEventsTable, 'seq'>): Promise<UserEventsTable> {
  const next = await tx
    .updateTable('users')
    .set((eb) => ({ event_seq: eb('event_seq', '+', 1) }))
    .where('id', '=', row.user_id)
    .returning('event_seq')
    .executeTakeFirstOrThrow();
  const full: UserEventsTable = { ...row, seq: Number(next.event_seq) };
  await tx.insertInto('user_events').values(full).execute();
  return full;
}

/**
 * The changes of some types in a chat's log from `from` (inclusive) up to `before` (exclusive, or
 * the end), oldest first: the service lines between a page of messages.
 */
export async function chatEventsOfTypes(
  db: Kysely<DB>,
  options: { chatId: string; types: readonly string[]; from: number; before: number | null; limit: number },
): Promise<ChatEventsTable[]> {
  let q = db
    .selectFrom('chat_events')
    .selectAll()
    .where('chat_id', '=', options.chatId)
    .where('seq', '>=', options.from)
    .where('type', 'in', [...options.types]);
  if (options.before !== null) q = q.where('seq', '<', options.before);
  return q.orderBy('seq', 'asc').limit(options.limit).execute();
}
