import type { DataStore } from '@tus/server';

/** Where a finished blob can be read from: a file on this machine (served with Range support). */
export interface LocalBlob {
  kind: 'local';
  /** the directory the file sits in, and its name inside it */
  root: string;
  file: string;
}

/**
 * The blob store port: where uploads are written (through tus) and files read and deleted, by the
 * key the files table holds (the upload id). One adapter per storage; the files module sees only this.
 */
export interface BlobStore {
  /** The tus data store that uploads are written through. */
  readonly uploads: DataStore;
  /** How a finished blob is served. An S3 adapter would answer with a presigned URL instead. */
  locate(key: string): Promise<LocalBlob>;
  /** Deletes a blob and whatever the upload kept beside it; a blob already gone is not an error. */
  delete(key: string): Promise<void>;
  /** Bytes a blob holds now (an unfinished upload: what has arrived), or null when there is none. */
  size(key: string): Promise<number | null>;
}
