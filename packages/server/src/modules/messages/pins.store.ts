import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { DB, MessagesTable } from '../../adapters/db/schema.ts';

/** How many messages of a chat are pinned now. */
export async function pinCount(tx: Tx, chatId: string): Promise<number> {
  const row = await tx
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('chat_id', '=', chatId)
    .where('pinned_at', 'is not', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Pins a message (at, by) or unpins it (null). */
export async function setPinned(tx: Tx, options: { messageId: string; pin: { at: number; by: string } | null }): Promise<void> {
  await tx
    .updateTable('messages')
    .set({ pinned_at: options.pin?.at ?? null, pinned_by: options.pin?.by ?? null })
    .where('id', '=', options.messageId)
    .execute();
}

/** A chat's pinned messages after a position, the latest pinned first. */
export async function pinnedMessages(db: Kysely<DB>, options: { chatId: string; floor: number; limit: number }): Promise<MessagesTable[]> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('chat_id', '=', options.chatId)
    .where('pinned_at', 'is not', null)
    .where('deleted_at', 'is', null)
    .where('seq', '>', options.floor)
    .orderBy('pinned_at', 'desc')
    .orderBy('seq', 'desc')
    .limit(options.limit)
    .execute();
}
