import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { S3Store } from '@tus/s3-store';
import type { S3Config } from '../../config/config.ts';
import type { BlobLocation, BlobStore, ServeAs } from './blob-store.ts';
import { UploadDigests } from './upload-digests.ts';

const KEY = /^[A-Za-z0-9_-]{1,64}$/;

function checkKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`Not a blob key: "${key}"`);
  return key;
}

/** A presigned GET lives this long: long enough to start a download, short enough that a leaked link dies. */
export const PRESIGNED_TTL_S = 300;

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.$metadata?.httpStatusCode === 404 || ['NotFound', 'NoSuchKey', 'NoSuchUpload'].includes(e?.name ?? e?.Code ?? '');
}

/**
 * tus's S3 store, with removal done one key at a time: its own `remove` uses DeleteObjects, which
 * needs a Content-MD5 header that the current AWS SDK no longer sends (it sends a CRC32), and
 * S3-compatible servers such as Swift refuse it.
 */
class OneKeyAtATimeS3Store extends S3Store {
  readonly digests = new UploadDigests();

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const written = await super.write(this.digests.track(stream, id, offset), id, offset);
    this.digests.written(id, written);
    return written;
  }

  get s3() {
    return this.client;
  }

  get bucketName(): string {
    return this.bucket;
  }

  /** Aborts the multipart upload if one is open, then deletes the object, its `.info` and its `.part`. */
  async removeAll(id: string): Promise<void> {
    try {
      const { 'upload-id': uploadId } = await this.getMetadata(id);
      if (uploadId) await this.client.abortMultipartUpload({ Bucket: this.bucket, Key: id, UploadId: uploadId });
    } catch (err) {
      // No .info (never created, or removed already), or the multipart upload is complete or gone.
      if (!isNotFound(err)) throw err;
    }
    for (const key of [id, this.infoKey(id), this.partKey(id, true)]) await this.client.deleteObject({ Bucket: this.bucket, Key: key });
    await this.clearCache(id);
  }

  override async remove(id: string): Promise<void> {
    await this.removeAll(id);
  }
}

/**
 * Blobs in an S3-compatible bucket, for several nodes: uploads through `@tus/s3-store` (a multipart
 * upload per file, parts of 8 MiB; a trailing piece under the 5 MiB minimum waits as `<key>.part`,
 * the tus metadata is `<key>.info`), downloads as 5-minute presigned GETs, which serve Range requests
 * themselves. Checksums only when an operation requires them: the SDK's default `aws-chunked`
 * framing with a CRC32 trailer is refused (or stored as data) by S3-compatible servers.
 */
export class S3BlobStore implements BlobStore {
  readonly uploads: OneKeyAtATimeS3Store;
  private readonly now: () => number;

  /** `now`: the clock presigned URLs are signed with (the server's, which tests may move). */
  constructor(config: S3Config, options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
    const client: S3ClientConfig = {
      region: config.region,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.accessKeyId && config.secretAccessKey ? { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } } : {}),
    };
    this.uploads = new OneKeyAtATimeS3Store({
      partSize: 8 * 1024 * 1024,
      // tus's expiry stays off, as with the local store: the cleanup job expires uploads.
      useTags: false,
      s3ClientConfig: { ...client, bucket: config.bucket },
    });
  }

  private get bucket(): string {
    return this.uploads.bucketName;
  }

  async locate(key: string, serve?: ServeAs): Promise<BlobLocation> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: checkKey(key),
      ...(serve ? { ResponseContentDisposition: serve.contentDisposition, ResponseContentType: serve.contentType } : {}),
    });
    return { kind: 'redirect', url: await getSignedUrl(this.uploads.s3, command, { expiresIn: PRESIGNED_TTL_S, signingDate: new Date(this.now()) }) };
  }

  finishedSha256(key: string, size: number): string | null {
    return this.uploads.digests.take(key, size);
  }

  async read(key: string): Promise<Readable> {
    const res = await this.uploads.s3.getObject({ Bucket: this.bucket, Key: checkKey(key) });
    return res.Body as Readable;
  }

  async delete(key: string): Promise<void> {
    await this.uploads.removeAll(checkKey(key));
  }

  async size(key: string): Promise<number | null> {
    try {
      const head = await this.uploads.s3.headObject({ Bucket: this.bucket, Key: checkKey(key) });
      return head.ContentLength ?? 0;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    // Not complete yet: what tus has, in parts and the pending piece.
    try {
      return (await this.uploads.getUpload(key)).offset;
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    this.uploads.s3.destroy();
  }
}
