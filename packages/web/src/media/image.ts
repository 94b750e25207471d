import { MAX_THUMBNAIL_LENGTH } from '@parley/sdk';
import type { PreparedMedia } from './prepared-media.ts';

/** The longest side a compressed photo keeps. */
export const MAX_PHOTO_SIDE = 2560;

export interface ImageJob {
  file: Blob;
  /** false: only read the size and previews (the original file is sent) */
  reencode: boolean;
  maxSide: number;
  maxThumbnailLength: number;
}

export type ImageResult =
  { ok: true; blob?: Blob; mimeType?: string; width: number; height: number; thumbhash: string; thumbnail?: string } | { ok: false; reason: string };

function runJob(job: ImageJob, signal?: AbortSignal): Promise<ImageResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./image-worker.ts', import.meta.url), { type: 'module' });
    const done = () => {
      worker.terminate();
      signal?.removeEventListener('abort', abort);
    };
    const abort = () => {
      done();
      reject(new DOMException('The image was not prepared', 'AbortError'));
    };
    signal?.addEventListener('abort', abort, { once: true });
    worker.onmessage = (e: MessageEvent<ImageResult>) => {
      done();
      resolve(e.data);
    };
    worker.onerror = (e) => {
      done();
      resolve({ ok: false, reason: e.message || 'worker failed' });
    };
    worker.postMessage(job);
  });
}

function renamed(name: string, mimeType: string): string {
  const ext = mimeType === 'image/webp' ? 'webp' : 'jpg';
  const base = name.replace(/\.[^./]*$/, '') || 'photo';
  return `${base}.${ext}`;
}

/**
 * A photo made ready to send: "compressed" re-encodes it to at most 2560 px a side as WebP (JPEG
 * where the browser has no WebP encoder), which drops EXIF and GPS; "original" keeps the file's bytes
 * and only reads its size and previews. Null when the browser cannot decode it (HEIC, …): send it as a file.
 */
export async function prepareImage(file: File, options: { compress: boolean; signal?: AbortSignal }): Promise<PreparedMedia | null> {
  const r = await runJob({ file, reencode: options.compress, maxSide: MAX_PHOTO_SIDE, maxThumbnailLength: MAX_THUMBNAIL_LENGTH }, options.signal);
  if (!r.ok) return null;
  const meta = { width: r.width, height: r.height, thumbhash: r.thumbhash, ...(r.thumbnail ? { thumbnail: r.thumbnail } : {}) };
  if (options.compress && r.blob && r.mimeType) return { blob: r.blob, name: renamed(file.name, r.mimeType), mimeType: r.mimeType, ...meta };
  return { blob: file, name: file.name || 'image', mimeType: file.type || 'application/octet-stream', ...meta };
}
