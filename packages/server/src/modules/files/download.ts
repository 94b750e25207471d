import type { FilesTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import type { Actor, Services } from '../services.ts';
import { readableFile } from './files.store.ts';

/**
 * A file this user may download: their own, or one a message they can read carries. Any other file,
 * one that exists included, gets the same 404 as a file that never existed.
 */
export async function fileForDownload(s: Services, actor: Actor, fileId: string): Promise<FilesTable> {
  const row = await readableFile(s.db.kysely, { fileId, userId: actor.userId });
  if (!row) throw new AppError('not_found', `File "${fileId}" was not found`);
  return row;
}
