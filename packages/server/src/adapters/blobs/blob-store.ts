import type { Readable } from 'node:stream';
import type { DataStore } from '@tus/server';

/** Where a finished blob can be read from: a file on this machine (served with Range support). */
export interface LocalBlob {
  kind: 'local';
  /** the directory the file sits in, and its name inside it */
  root: string;
  file: string;
}

/** A short-lived URL the client is redirected to (a presigned S3 GET, which answers Range itself). */
export interface RemoteBlob {
  kind: 'redirect';
  url: string;
}

export type BlobLocation = LocalBlob | RemoteBlob;

/** What the download answer says about the bytes, whoever serves them. */
export interface ServeAs {
  contentDisposition: string;
  contentType: string;
}

/**
 * The blob store port: where uploads are written (through tus) and files read and deleted, by the
 * key the files table holds (the upload id). One adapter per storage; the files module sees only this.
 */
export interface BlobStore {
  /** The tus data store that uploads are written through. */
  readonly uploads: DataStore;
  /** How a finished blob is served: a local file, or a presigned URL valid for a few minutes. */
  locate(key: string, serve?: ServeAs): Promise<BlobLocation>;
  /**
   * The sha256 of an upload of `size` bytes that has just finished, when this process hashed it
   * whole as it arrived (null: read it back to hash it).
   */
  finishedSha256(key: string, size: number): string | null;
  /** The bytes of a finished blob, as a stream (never held whole in memory). */
  read(key: string): Promise<Readable>;
  /** Deletes a blob and whatever the upload kept beside it; a blob already gone is not an error. */
  delete(key: string): Promise<void>;
  /** Bytes a blob holds now (an unfinished upload: what has arrived), or null when there is none. */
  size(key: string): Promise<number | null>;
  /** Releases connections; the store is not used afterwards. */
  close(): Promise<void>;
}
