import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { FileStore } from '@tus/file-store';
import { ERRORS, type Upload } from '@tus/server';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore, LocalBlob } from './blob-store.ts';
import { UploadDigests } from './upload-digests.ts';

const KEY = /^[A-Za-z0-9_-]{1,64}$/;
/** Bytes of an upload's body buffered on their way to the file. */
const WRITE_BUFFER = 1024 * 1024;

function checkKey(key: string): string {
  // Keys come from our own table, but a path must never be built from anything else.
  if (!KEY.test(key)) throw new Error(`Not a blob key: "${key}"`);
  return key;
}

/** FileStore whose files only the server's user can read, like the SQLite file; it hashes what it writes. */
class OwnerOnlyFileStore extends FileStore {
  readonly digests = new UploadDigests();

  // FileStore's own write, without its byte-counting stream: the file stream counts what it wrote.
  // Up to 1 MiB of the body is buffered before the stream waits for the disk (16 KiB by default), so
  // the socket's 64 KiB chunks reach the file in a few large writev calls rather than one write each:
  // an upload then costs less CPU per MiB than the bare server does with Node's defaults
  // (docs/performance.md). It is at most 1 MiB per upload being written.
  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const file = fs.createWriteStream(path.join(this.directory, checkKey(id)), { flags: 'r+', start: offset, highWaterMark: WRITE_BUFFER });
    try {
      await pipeline(this.digests.track(stream, id, offset), file);
    } catch {
      throw ERRORS.FILE_WRITE_ERROR;
    }
    const written = offset + file.bytesWritten;
    this.digests.written(id, written);
    return written;
  }

  override async create(file: Upload): Promise<Upload> {
    const created = await super.create(file);
    const blob = path.join(this.directory, checkKey(file.id));
    await fsp.chmod(blob, 0o600);
    await fsp.chmod(`${blob}.json`, 0o600).catch(() => {});
    return created;
  }
}

/**
 * Blobs as files in one local directory (the single-node default): `<dir>/<key>` holds the bytes and
 * `<dir>/<key>.json` the upload's tus metadata. tus's own expiry stays off: it deletes finished uploads
 * too (docs/files.md), so the cleanup job expires uploads from the files table instead.
 */
export class LocalDirBlobStore implements BlobStore {
  readonly directory: string;
  private store: OwnerOnlyFileStore | undefined;

  constructor(directory: string) {
    this.directory = directory;
    fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
    fs.chmodSync(directory, 0o700);
  }

  /**
   * tus's store, made when the upload routes first ask for it: its constructor starts a mkdir it
   * does not wait for, which must not outlive a context that never serves uploads (a CLI command,
   * a store-level test removing its directory).
   */
  get uploads(): FileStore {
    this.store ??= new OwnerOnlyFileStore({ directory: this.directory });
    return this.store;
  }

  finishedSha256(key: string, size: number): string | null {
    return this.store?.digests.take(key, size) ?? null;
  }

  async locate(key: string): Promise<LocalBlob> {
    return { kind: 'local', root: this.directory, file: checkKey(key) };
  }

  async read(key: string): Promise<Readable> {
    const stream = fs.createReadStream(path.join(this.directory, checkKey(key)));
    // Opening fails asynchronously: wait for it, so a missing blob rejects here.
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return stream;
  }

  async delete(key: string): Promise<void> {
    const blob = path.join(this.directory, checkKey(key));
    await fsp.rm(blob, { force: true });
    await fsp.rm(`${blob}.json`, { force: true });
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await fsp.stat(path.join(this.directory, checkKey(key)))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async close(): Promise<void> {}
}
