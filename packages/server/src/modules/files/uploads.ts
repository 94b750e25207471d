import { createHash } from 'node:crypto';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { FilesTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { rateLimited } from '../../lib/rate-limit.ts';
import type { Actor, Services } from '../services.ts';
import { deleteUnfinished, fileById, insertUpload, markReady, unfinishedUploads } from './files.store.ts';

const MIB = 1024 * 1024;

function refuse(s: Services, reason: 'size' | 'unfinished' | 'bytes', err: AppError): AppError {
  s.metrics.uploadsRefused.inc({ reason });
  return err;
}

/**
 * Admits a new upload of `length` bytes (its declared Upload-Length) before any byte is stored:
 * within the file size, the user's unfinished uploads and their hourly byte budget, which it
 * charges. Returns how to give the bytes back if the upload is then not created after all.
 */
export async function admitUpload(s: Services, actor: Actor, length: number): Promise<{ refund(): Promise<void> }> {
  const { maxFileBytes, unfinishedPerUser } = s.config.files;
  if (length > maxFileBytes) {
    throw refuse(
      s,
      'size',
      new AppError('file_too_large', `A file can be at most ${maxFileBytes} bytes (${(maxFileBytes / MIB).toFixed(0)} MiB); this one is ${length}`),
    );
  }
  if ((await unfinishedUploads(s.db.kysely, { ownerId: actor.userId, now: s.now() })) >= unfinishedPerUser) {
    throw refuse(
      s,
      'unfinished',
      new AppError('too_many_uploads', `At most ${unfinishedPerUser} uploads can be unfinished at once: finish or cancel one first`),
    );
  }
  const limiter = s.limiters.uploadBytes;
  if (length > 0) {
    try {
      await limiter.consume(actor.userId, length);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      // A refused consume is still counted: give it back, so that a refusal costs nothing.
      await limiter.reward(actor.userId, length).catch(() => {});
      throw refuse(s, 'bytes', rateLimited(err, 'upload bytes this hour'));
    }
  }
  return { refund: async () => void (length > 0 ? await limiter.reward(actor.userId, length).catch(() => {}) : undefined) };
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** A file name as readers see it: no directories, no control characters, at most 255 characters. */
export function cleanFileName(name: string | null | undefined): string | null {
  if (!name) return null;
  const base = name.split(/[\\/]/).pop()!.replace(CONTROL, '').trim();
  return base ? [...base].slice(0, 255).join('') : null;
}

const MIME = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/;

export function cleanMimeType(type: string | null | undefined): string | null {
  return type && type.length <= 127 && MIME.test(type) ? type.toLowerCase() : null;
}

/** Records a new upload, before the blob store creates it: from now on it counts as unfinished. */
export async function recordUpload(
  s: Services,
  actor: Actor,
  upload: { id: string; size: number; name?: string | null; mimeType?: string | null },
): Promise<void> {
  const now = s.now();
  const row: FilesTable = {
    id: upload.id,
    owner_id: actor.userId,
    size: upload.size,
    name: cleanFileName(upload.name),
    mime_type: cleanMimeType(upload.mimeType),
    state: 'uploading',
    ref_count: 0,
    created_at: now,
    expires_at: now + s.config.files.uploadExpiryMs,
    unreferenced_since: null,
    sha256: null,
  };
  await insertUpload(s.db.kysely, row);
}

/** The sha256 of a stored blob, streamed from the blob store (never held whole in memory). */
export async function blobSha256(s: Services, id: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await s.blobs.read(id)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The upload has all its bytes: it becomes a file its owner can attach, with the sha256 of what was
 * stored (the uploader compares it with its own). Returns the sha256.
 */
export async function finishUpload(s: Services, id: string): Promise<{ sha256: string }> {
  const row = await fileById(s.db.kysely, id);
  const sha256 = row?.state === 'uploading' ? (s.blobs.finishedSha256(id, Number(row.size)) ?? (await blobSha256(s, id))) : null;
  if (!row || !sha256 || !(await markReady(s.db.kysely, { id, now: s.now(), sha256 }))) {
    // Expired and collected while its last bytes arrived: the client uploads again.
    throw new AppError('not_found', `Upload "${id}" expired before it finished`);
  }
  s.metrics.uploadBytes.inc(Number(row.size));
  return { sha256 };
}

/** The owner terminated an unfinished upload (tus DELETE); the blob store has removed its bytes. */
export async function forgetUpload(s: Services, id: string): Promise<void> {
  await deleteUnfinished(s.db.kysely, id);
}

/** An upload of this user's, to resume or terminate; another user's reads as absent. */
export async function requireOwnUpload(s: Services, actor: Actor, id: string): Promise<FilesTable> {
  const row = await fileById(s.db.kysely, id);
  if (!row || row.owner_id !== actor.userId || row.state === 'deleting') throw new AppError('not_found', `Upload "${id}" was not found`);
  return row;
}
