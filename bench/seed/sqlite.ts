// History written straight into the SQLite file with better-sqlite3, after the server created
// the schema and while it is stopped: through the API this would take hours at the rate limits
// and tens of minutes without them. Only chats, members and messages rows (paging reads only
// messages); prepared statements, about 50 000 rows a transaction.
import SQLite from 'better-sqlite3';
import type { DB } from '../../packages/server/src/adapters/db/schema.ts';
import { chatRow, historyChatIds, memberRow, messageRow, type HistoryPlan } from './history-rows.ts';

/** Seeds the plan's chats and messages; returns the chat ids. */
export function seedSqliteHistory(file: string, plan: HistoryPlan): string[] {
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const ids = historyChatIds(plan);
  const insertChat = prepareInsert(db, { table: 'chats', sample: chatRow(plan, ids[0]!) });
  const insertMember = prepareInsert(db, { table: 'members', sample: memberRow(plan, ids[0]!) });
  const insertMessage = prepareInsert(db, { table: 'messages', sample: messageRow(plan, { chatId: ids[0]!, seq: 1 }) });
  db.transaction(() => {
    for (const id of ids) {
      insertChat(chatRow(plan, id));
      insertMember(memberRow(plan, id));
    }
  })();
  const batch = db.transaction((c0: number, c1: number) => {
    for (let c = c0; c < c1; c++) for (let s = 1; s <= plan.perChat; s++) insertMessage(messageRow(plan, { chatId: ids[c]!, seq: s }));
  });
  const step = Math.max(1, Math.floor(50_000 / plan.perChat));
  for (let c = 0; c < ids.length; c += step) batch(c, Math.min(ids.length, c + step));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return ids;
}

/**
 * One prepared insert into a server table, of the columns a sample row names. Values are bound
 * by position (by name costs about a third more time over a million rows).
 */
function prepareInsert<T extends keyof DB>(db: SQLite.Database, { table, sample }: { table: T; sample: DB[T] }): (row: DB[T]) => void {
  const columns = Object.keys(sample) as (keyof DB[T])[];
  const statement = db.prepare(`insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`);
  return (row) => {
    statement.run(columns.map((c) => row[c]));
  };
}
