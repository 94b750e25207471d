import { sql, type Kysely } from 'kysely';
import { isPostgres } from '../../adapters/db/dialect.ts';
import type { DB, MessagesTable } from '../../adapters/db/schema.ts';

export interface MessageSearch {
  userId: string;
  /** words (letters and digits only), each matched as a word or the start of one */
  terms: string[];
  chatId?: string;
  /** older than this result: its time and id */
  before?: { createdAt: number; id: string };
  limit: number;
}

/**
 * Messages with every term, newest first, among what this user can read: chats they are a member
 * of that still exist, after where their history starts (where they joined, or deleted the chat for
 * themselves), not deleted. SQLite matches through the FTS5 index (migration 007), PostgreSQL through
 * its text-search GIN index; the terms reach neither as syntax, only as quoted words.
 */
export async function searchMessages(db: Kysely<DB>, search: MessageSearch): Promise<MessagesTable[]> {
  const pg = isPostgres(db);
  const match = pg
    ? sql<boolean>`to_tsvector('simple', coalesce(m.text, '')) @@ to_tsquery('simple', ${search.terms.map((t) => `${t}:*`).join(' & ')})`
    : sql<boolean>`m.rowid in (select rowid from messages_fts where messages_fts match ${search.terms.map((t) => `"${t}"*`).join(' ')})`;
  const floor = pg
    ? sql<boolean>`m.seq > greatest(mb.joined_seq, coalesce(mb.hidden_seq, 0))`
    : sql<boolean>`m.seq > max(mb.joined_seq, coalesce(mb.hidden_seq, 0))`;
  let q = db
    .selectFrom('messages as m')
    .innerJoin('members as mb', (j) => j.onRef('mb.chat_id', '=', 'm.chat_id').on('mb.user_id', '=', search.userId))
    .innerJoin('chats as c', 'c.id', 'm.chat_id')
    .selectAll('m')
    .where('c.deleted_at', 'is', null)
    .where('m.deleted_at', 'is', null)
    .where(floor)
    .where(match);
  if (search.chatId !== undefined) q = q.where('m.chat_id', '=', search.chatId);
  const before = search.before;
  if (before)
    q = q.where((eb) => eb.or([eb('m.created_at', '<', before.createdAt), eb.and([eb('m.created_at', '=', before.createdAt), eb('m.id', '<', before.id)])]));
  return q.orderBy('m.created_at', 'desc').orderBy('m.id', 'desc').limit(search.limit).execute();
}
