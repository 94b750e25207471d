import type { IncomingMessage, ServerResponse } from 'node:http';
import { ERRORS, StreamLimiter, type DataStore, type Locker, type Upload } from '@tus/server';
import { AppError } from '../../lib/errors.ts';

export interface UploadPatcher {
  store: DataStore;
  /** The same locker tus uses for the upload's other requests: one writer per upload, on any node. */
  locker: Locker;
  /** How long a PATCH asked to give its lock up goes on receiving before it stops (tus's lockDrainTimeout). */
  lockDrainMs: number;
  /** Headers every tus answer carries (Tus-Resumable, the CORS ones). */
  headers: Record<string, string>;
  /** Called once the last byte is stored: the answer's extra headers (file id, sha256). */
  finished(upload: Upload): Promise<Record<string, string>>;
  /** An unexpected failure, for the log. */
  failed(err: unknown, uploadId: string): void;
}

const OFFSET = /^\d{1,16}$/;

/** tus's own refusals (thrown by the stores, the lockers and its StreamLimiter) as our errors. */
function asAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  const status = (err as { status_code?: number } | null)?.status_code;
  if (status === ERRORS.FILE_NOT_FOUND.status_code) return new AppError('not_found', 'No such upload');
  if (status === ERRORS.ERR_MAX_SIZE_EXCEEDED.status_code) return new AppError('file_too_large', 'The body goes past the upload length declared at creation');
  if (err === ERRORS.ERR_LOCK_TIMEOUT)
    return new AppError('service_unavailable', 'Another request is still writing this upload; retry in a moment', { 'retry-after': '1' });
  return null;
}

/**
 * A tus 1.0 PATCH, served on the Node request itself. @tus/server turns every request into a web
 * `Request` and its body back into a Node stream for the store, which was most of an upload's CPU
 * (docs/performance.md); the PATCH is where the bytes are, so it skips that round trip. It keeps tus's
 * rules: the upload's lock for the whole write (another request for it, through any node, asks this
 * one to stop and gets the bytes that arrived), the offset must be the stored one (409), the body
 * may not pass the declared length (413), and the bytes that arrived before a client went away stay
 * stored, so it resumes from there. Authentication and ownership were checked before this runs.
 */
export async function patchUpload(p: UploadPatcher, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let cutShort = false;
  try {
    const headers = await receive(p, id, req, () => (cutShort = true));
    res.writeHead(204, { ...p.headers, ...headers, ...(cutShort ? { connection: 'close' } : {}) });
    res.end();
  } catch (err) {
    const known = asAppError(err);
    if (!known) p.failed(err, id);
    const e = known ?? new AppError('internal_error', 'The upload could not be stored');
    const body = JSON.stringify({ error: { code: e.code, message: e.message } });
    // Whatever of the body was not read is not waited for.
    res.writeHead(e.status, {
      ...p.headers,
      ...e.headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body);
  }
}

/** Checks the request, writes its body under the upload's lock, and returns the answer's headers. */
async function receive(p: UploadPatcher, id: string, req: IncomingMessage, onCutShort: () => void): Promise<Record<string, string>> {
  if (req.headers['tus-resumable'] !== '1.0.0') throw new AppError('tus_version_unsupported', 'Send Tus-Resumable: 1.0.0');
  const offsetHeader = req.headers['upload-offset'];
  if (typeof offsetHeader !== 'string' || !OFFSET.test(offsetHeader))
    throw new AppError('invalid_request', 'Upload-Offset must be the byte offset to write at');
  if (req.headers['content-type'] !== 'application/offset+octet-stream')
    throw new AppError('unsupported_media_type', 'A PATCH carries Content-Type: application/offset+octet-stream');
  if (req.headers['upload-length'] !== undefined) throw new AppError('invalid_request', 'The Upload-Length is declared when the upload is created');
  const lengthHeader = req.headers['content-length'];
  if (lengthHeader !== undefined && !OFFSET.test(lengthHeader)) throw new AppError('invalid_request', 'Content-Length must be a byte count');
  const offset = Number(offsetHeader);

  // The body flows into the store through the limiter, so that stopping (the client left, or another
  // request wants the lock) ends the store's stream cleanly with what arrived instead of failing it.
  let body: StreamLimiter | undefined;
  const stop = () => {
    if (!body) return;
    req.unpipe(body);
    if (!body.destroyed) body.end();
  };
  const gone = new AbortController();
  const leave = () => {
    gone.abort();
    stop();
  };
  req.once('error', leave);
  req.once('close', () => {
    if (!req.complete) leave();
  });
  let drain: NodeJS.Timeout | undefined;
  const lock = p.locker.newLock(id);
  await lock.lock(gone.signal, () => {
    drain ??= setTimeout(() => {
      onCutShort();
      stop();
    }, p.lockDrainMs);
  });
  let upload: Upload;
  try {
    upload = await p.store.getUpload(id);
    if (upload.offset !== offset) throw new AppError('upload_offset_conflict', `The upload has ${upload.offset} bytes, not ${offset}: resume from there`);
    const size = upload.size ?? 0;
    const length = lengthHeader === undefined ? undefined : Number(lengthHeader);
    if (length !== undefined && offset + length > size)
      throw new AppError('file_too_large', `The body goes past the upload's declared length of ${size} bytes`);
    body = new StreamLimiter(length ?? size - offset);
    req.pipe(body);
    if (gone.signal.aborted) stop();
    upload.offset = await p.store.write(body, id, offset);
  } finally {
    clearTimeout(drain);
    await lock.unlock();
  }
  const extra = upload.offset === upload.size ? await p.finished(upload) : {};
  return { 'upload-offset': String(upload.offset), ...extra };
}
