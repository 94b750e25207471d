import { sql, type Kysely } from 'kysely';
import { isPostgres, type Tx } from '../../adapters/db/database.ts';
import type { DB, FileRefsTable, FilesTable } from '../../adapters/db/schema.ts';

export async function insertUpload(db: Kysely<DB>, row: FilesTable): Promise<void> {
  await db.insertInto('files').values(row).execute();
}

/** Uploads a user has started, not finished, and that have not expired yet. */
export async function unfinishedUploads(db: Kysely<DB>, options: { ownerId: string; now: number }): Promise<number> {
  const row = await db
    .selectFrom('files')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('owner_id', '=', options.ownerId)
    .where('state', '=', 'uploading')
    .where('expires_at', '>', options.now)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function fileById(db: Kysely<DB>, id: string): Promise<FilesTable | undefined> {
  return db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
}

/** An upload that has received all its bytes becomes a file; its grace (unreferenced) starts now. */
export async function markReady(db: Kysely<DB>, options: { id: string; now: number; sha256: string }): Promise<boolean> {
  const result = await db
    .updateTable('files')
    .set({ state: 'ready', expires_at: null, unreferenced_since: options.now, sha256: options.sha256 })
    .where('id', '=', options.id)
    .where('state', '=', 'uploading')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** Forgets an unfinished upload its owner terminated (the blob store has already removed it). */
export async function deleteUnfinished(db: Kysely<DB>, id: string): Promise<void> {
  await db.deleteFrom('files').where('id', '=', id).where('state', '=', 'uploading').execute();
}

/**
 * Takes one reference on each file, in ONE conditional UPDATE on the file rows: only a finished
 * file of this owner counts. A GC that has already moved a row to `deleting` makes it miss; a GC
 * that comes later finds ref_count > 0 on the row it locks (docs/files.md: keep the condition on
 * the row the send updates). Returns the ids and sizes that were taken.
 */
export async function takeRefs(tx: Tx, options: { fileIds: string[]; ownerId: string }): Promise<{ id: string; size: number }[]> {
  const rows = await tx
    .updateTable('files')
    .set((eb) => ({ ref_count: eb('ref_count', '+', 1), unreferenced_since: null }))
    .where('id', 'in', options.fileIds)
    .where('owner_id', '=', options.ownerId)
    .where('state', '=', 'ready')
    .returning(['id', 'size'])
    .execute();
  return rows.map((r) => ({ id: r.id, size: Number(r.size) }));
}

export async function insertRefs(tx: Tx, refs: FileRefsTable[]): Promise<void> {
  if (refs.length > 0) await tx.insertInto('file_refs').values(refs).execute();
}

/**
 * Drops the references these messages hold (deleted for everyone, or purged with their chat), in
 * the caller's transaction; a file whose last reference goes starts its grace now.
 */
export async function releaseRefs(tx: Tx, options: { messageIds?: string[]; chatId?: string; now: number }): Promise<number> {
  let q = tx.deleteFrom('file_refs');
  if (options.messageIds) {
    if (options.messageIds.length === 0) return 0;
    q = q.where('message_id', 'in', options.messageIds);
  } else if (options.chatId) q = q.where('chat_id', '=', options.chatId);
  else return 0;
  const gone = await q.returning('file_id').execute();
  const counts = new Map<string, number>();
  for (const r of gone) counts.set(r.file_id, (counts.get(r.file_id) ?? 0) + 1);
  // Files losing the same number of references are updated together.
  const byCount = new Map<number, string[]>();
  for (const [id, n] of counts) byCount.set(n, [...(byCount.get(n) ?? []), id]);
  for (const [n, ids] of byCount) {
    await tx
      .updateTable('files')
      .set((eb) => ({
        ref_count: eb('ref_count', '-', n),
        unreferenced_since: eb.case().when('ref_count', '=', n).then(options.now).else(eb.ref('unreferenced_since')).end(),
      }))
      .where('id', 'in', ids)
      .execute();
  }
  return gone.length;
}

/**
 * The file if this user may read it: its owner; a member of a live chat that has a message (not
 * deleted, and from after they joined) referencing it; anyone signed in for a live account's
 * picture (as they may look the account up); a member for a chat's picture. Anything else reads
 * as absent.
 */
export async function readableFile(db: Kysely<DB>, options: { fileId: string; userId: string }): Promise<FilesTable | undefined> {
  return db
    .selectFrom('files')
    .selectAll()
    .where('id', '=', options.fileId)
    .where('state', '=', 'ready')
    .where((eb) =>
      eb.or([
        eb('owner_id', '=', options.userId),
        eb.exists(
          eb
            .selectFrom('file_refs')
            .innerJoin('messages', 'messages.id', 'file_refs.message_id')
            .innerJoin('members', (j) => j.onRef('members.chat_id', '=', 'file_refs.chat_id').on('members.user_id', '=', options.userId))
            .innerJoin('chats', 'chats.id', 'file_refs.chat_id')
            .select('file_refs.file_id')
            .whereRef('file_refs.file_id', '=', 'files.id')
            .where('messages.deleted_at', 'is', null)
            .where('chats.deleted_at', 'is', null)
            .whereRef('messages.seq', '>', 'members.joined_seq'),
        ),
        eb.exists(eb.selectFrom('users').select('users.id').whereRef('users.avatar_file_id', '=', 'files.id').where('users.deleted_at', 'is', null)),
        eb.exists(
          eb
            .selectFrom('chats')
            .innerJoin('members', (j) => j.onRef('members.chat_id', '=', 'chats.id').on('members.user_id', '=', options.userId))
            .select('chats.id')
            .whereRef('chats.avatar_file_id', '=', 'files.id')
            .where('chats.deleted_at', 'is', null),
        ),
      ]),
    )
    .executeTakeFirst();
}

/**
 * Moves up to `limit` files to `deleting` in one conditional UPDATE: finished files with no
 * reference since before `unreferencedBefore`, and uploads that expired by `now`. The condition
 * is on the row's own columns, which a send's takeRefs changes under the same row lock, so a file
 * is either attached or collected, never both. On PostgreSQL several nodes skip each other's rows.
 */
export async function markCollectable(
  db: Kysely<DB>,
  options: { now: number; unreferencedBefore: number; limit: number },
): Promise<{ id: string; state: string }[]> {
  const pg = isPostgres(db);
  const collectable = sql`(state = 'ready' and ref_count = 0 and unreferenced_since < ${options.unreferencedBefore})
    or (state = 'uploading' and expires_at <= ${options.now})`;
  // The state before the change, for the metric: RETURNING gives the new row, so it is derived.
  const result = await sql<{ id: string; expired: number }>`
    update files set state = 'deleting'
    where id in (select id from files where ${collectable} limit ${options.limit}${pg ? sql` for update skip locked` : sql``})
      and (${collectable})
    returning id, case when expires_at is null then 0 else 1 end as expired`.execute(db);
  return result.rows.map((r) => ({ id: r.id, state: Number(r.expired) === 1 ? 'uploading' : 'ready' }));
}

/** Files left in `deleting` (a run that stopped between its steps), for the next run to finish. */
export async function deletingFiles(db: Kysely<DB>, limit: number): Promise<string[]> {
  return (await db.selectFrom('files').select('id').where('state', '=', 'deleting').limit(limit).execute()).map((r) => r.id);
}

export async function deleteFileRows(db: Kysely<DB>, ids: string[]): Promise<void> {
  if (ids.length > 0) await db.deleteFrom('files').where('id', 'in', ids).where('state', '=', 'deleting').execute();
}

/** Bytes of finished files in the store. */
export async function storedFileBytes(db: Kysely<DB>): Promise<number> {
  const row = await db
    .selectFrom('files')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('size'), eb.lit(0)).as('bytes'))
    .where('state', '=', 'ready')
    .executeTakeFirstOrThrow();
  return Number(row.bytes);
}
