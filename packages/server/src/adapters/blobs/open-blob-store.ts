import type { Config } from '../../config/config.ts';
import type { BlobStore } from './blob-store.ts';
import { LocalDirBlobStore } from './local-dir-store.ts';

/** The blob store the configuration names: the local directory, or S3 (whose SDK loads only then). */
export async function openBlobStore(files: Config['files'], options: { now?: () => number } = {}): Promise<BlobStore> {
  if (files.store.kind !== 's3') return new LocalDirBlobStore(files.blobDir);
  const { S3BlobStore } = await import('./s3-blob-store.ts');
  return new S3BlobStore(files.store, { now: options.now });
}
