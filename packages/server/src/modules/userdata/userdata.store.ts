import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { DB, FilesTable, MessagesTable } from '../../adapters/db/schema.ts';
import { storedFileBytes } from '../files/files.store.ts';

/** A message as the export shows it: the row and the position of the message it replies to. */
export type OwnMessageRow = MessagesTable & { reply_seq: number | null };

/** How many plaintext messages (not deleted) the user wrote in each of these chats. */
export async function ownMessageCounts(db: Kysely<DB>, options: { userId: string; chatIds: string[] }): Promise<Map<string, number>> {
  if (options.chatIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('messages')
    .select(['chat_id', (e) => e.fn.countAll<number>().as('n')])
    .where('chat_id', 'in', options.chatIds)
    .where('sender_id', '=', options.userId)
    .where('deleted_at', 'is', null)
    .where('kind', '=', 'text')
    .groupBy('chat_id')
    .execute();
  return new Map(rows.map((r) => [r.chat_id, Number(r.n)]));
}

/** Up to `limit` of the user's plaintext messages in a chat after position `after`, deleted ones aside, in order. */
export async function ownMessagePage(db: Kysely<DB>, options: { chatId: string; userId: string; after: number; limit: number }): Promise<OwnMessageRow[]> {
  const rows = await db
    .selectFrom('messages')
    .leftJoin('messages as replied', (j) => j.onRef('replied.id', '=', 'messages.reply_to_id').onRef('replied.chat_id', '=', 'messages.chat_id'))
    .selectAll('messages')
    .select('replied.seq as reply_seq')
    .where('messages.chat_id', '=', options.chatId)
    .where('messages.sender_id', '=', options.userId)
    .where('messages.deleted_at', 'is', null)
    // End-to-end encrypted messages are ciphertext only their devices can read: not in the export.
    .where('messages.kind', '=', 'text')
    .where('messages.seq', '>', options.after)
    .orderBy('messages.seq')
    .limit(options.limit)
    .execute();
  return rows as OwnMessageRow[];
}

/** The files a user uploaded that are still in use: finished, and held by a message or as a picture. */
export async function liveOwnFiles(db: Kysely<DB>, userId: string): Promise<FilesTable[]> {
  return db
    .selectFrom('files')
    .selectAll()
    .where('owner_id', '=', userId)
    .where('state', '=', 'ready')
    .where('ref_count', '>', 0)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** The ids of the user's messages that hold references to files. */
export async function ownMessagesWithFiles(tx: Tx, userId: string): Promise<string[]> {
  const rows = await tx
    .selectFrom('file_refs')
    .innerJoin('messages', 'messages.id', 'file_refs.message_id')
    .select('file_refs.message_id')
    .distinct()
    .where('messages.sender_id', '=', userId)
    .execute();
  return rows.map((r) => r.message_id);
}

/**
 * Makes the user's finished files that nothing references collectable at the collector's next run:
 * no send of theirs can attach them any more, so the grace a send would need is not waited for.
 */
export async function expireUnreferencedFiles(tx: Tx, userId: string): Promise<number> {
  const result = await tx
    .updateTable('files')
    .set({ unreferenced_since: 0 })
    .where('owner_id', '=', userId)
    .where('state', '=', 'ready')
    .where('ref_count', '=', 0)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** How much the server holds: live accounts, chats not deleted, stored messages, finished files and their bytes. */
export async function serverCounts(db: Kysely<DB>): Promise<{ accounts: number; chats: number; messages: number; files: number; fileBytes: number }> {
  const count = async (q: Promise<{ n: number | string | bigint | null } | undefined>) => Number((await q)?.n ?? 0);
  const [accounts, chats, messages, files] = await Promise.all([
    count(
      db
        .selectFrom('users')
        .select((e) => e.fn.countAll().as('n'))
        .where('deleted_at', 'is', null)
        .executeTakeFirst(),
    ),
    count(
      db
        .selectFrom('chats')
        .select((e) => e.fn.countAll().as('n'))
        .where('deleted_at', 'is', null)
        .executeTakeFirst(),
    ),
    count(
      db
        .selectFrom('messages')
        .select((e) => e.fn.countAll().as('n'))
        .executeTakeFirst(),
    ),
    count(
      db
        .selectFrom('files')
        .select((e) => e.fn.countAll().as('n'))
        .where('state', '=', 'ready')
        .executeTakeFirst(),
    ),
  ]);
  return { accounts, chats, messages, files, fileBytes: await storedFileBytes(db) };
}
