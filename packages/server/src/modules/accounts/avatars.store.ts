import { forUpdate, type Tx } from '../../adapters/db/database.ts';

/**
 * Takes a reference on a finished upload of this owner, with the same conditional UPDATE on the
 * file row as an attachment (docs/files.md: the collector's condition is on this row). Returns the
 * file's size and type, or nothing when it is not a finished upload of theirs.
 */
export async function takeRef(tx: Tx, options: { fileId: string; ownerId: string }): Promise<{ size: number; mimeType: string | null } | undefined> {
  const row = await tx
    .updateTable('files')
    .set((eb) => ({ ref_count: eb('ref_count', '+', 1), unreferenced_since: null }))
    .where('id', '=', options.fileId)
    .where('owner_id', '=', options.ownerId)
    .where('state', '=', 'ready')
    .returning(['size', 'mime_type'])
    .executeTakeFirst();
  return row ? { size: Number(row.size), mimeType: row.mime_type } : undefined;
}

/** Drops one reference; a file whose last reference goes starts its grace now. */
export async function releaseRef(tx: Tx, options: { fileId: string; now: number }): Promise<void> {
  await tx
    .updateTable('files')
    .set((eb) => ({
      ref_count: eb('ref_count', '-', 1),
      unreferenced_since: eb.case().when('ref_count', '=', 1).then(options.now).else(eb.ref('unreferenced_since')).end(),
    }))
    .where('id', '=', options.fileId)
    .where('ref_count', '>', 0)
    .execute();
}

/** The current picture of a user or chat, its row locked until the transaction ends (two changes at once release it once). */
export async function lockedAvatar(tx: Tx, options: { table: 'users' | 'chats'; id: string }): Promise<string | null | undefined> {
  const row = await forUpdate(tx, tx.selectFrom(options.table).select('avatar_file_id').where('id', '=', options.id)).executeTakeFirst();
  return row?.avatar_file_id;
}

export async function setAvatar(tx: Tx, options: { table: 'users' | 'chats'; id: string; fileId: string | null }): Promise<void> {
  await tx.updateTable(options.table).set({ avatar_file_id: options.fileId }).where('id', '=', options.id).execute();
}
