import { AVATAR_MIME_TYPES, MAX_AVATAR_BYTES } from '@parley/protocol';
import type { Tx } from '../../adapters/db/database.ts';
import { AppError } from '../../lib/errors.ts';
import { lockedAvatar, releaseRef, setAvatar, takeRef } from './avatars.store.ts';

const IMAGE_TYPES: readonly string[] = AVATAR_MIME_TYPES;

/**
 * Sets the picture of a user or chat, in the caller's transaction: the new file (a finished upload
 * of `ownerId`'s, an image of at most MAX_AVATAR_BYTES) gains the reference the column holds, and
 * the old one loses it. Null removes the picture. Any refusal rolls the whole change back.
 */
export async function changeAvatar(
  tx: Tx,
  options: { table: 'users' | 'chats'; id: string; ownerId: string; fileId: string | null; now: number },
): Promise<void> {
  const current = await lockedAvatar(tx, options);
  if (current === undefined || current === options.fileId) return;
  if (options.fileId !== null) {
    const file = await takeRef(tx, { fileId: options.fileId, ownerId: options.ownerId });
    if (!file)
      throw new AppError('attachment_unavailable', `File "${options.fileId}" is not a finished upload of yours (it may have expired): upload it again`);
    if (!file.mimeType || !IMAGE_TYPES.includes(file.mimeType))
      throw new AppError('invalid_request', `A picture must be one of ${AVATAR_MIME_TYPES.join(', ')} (got "${file.mimeType ?? 'no type'}")`);
    if (file.size > MAX_AVATAR_BYTES) throw new AppError('file_too_large', `A picture can have at most ${MAX_AVATAR_BYTES} bytes (got ${file.size})`);
  }
  if (current !== null) await releaseRef(tx, { fileId: current, now: options.now });
  await setAvatar(tx, { table: options.table, id: options.id, fileId: options.fileId });
}

/** Drops the picture of an account being deleted or a chat being purged, in the caller's transaction. */
export async function dropAvatar(tx: Tx, options: { table: 'users' | 'chats'; id: string; now: number }): Promise<void> {
  const current = await lockedAvatar(tx, options);
  if (!current) return;
  await releaseRef(tx, { fileId: current, now: options.now });
  await setAvatar(tx, { table: options.table, id: options.id, fileId: null });
}
