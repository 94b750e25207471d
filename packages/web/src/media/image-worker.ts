// Decodes, resizes and re-encodes one image off the main thread (OffscreenCanvas). Re-encoding
// keeps only the pixels, so EXIF (GPS, camera, dates) and XMP are gone from what is sent.
import { fitInside, thumbhashOf, thumbnailOf } from './thumbs.ts';
import type { ImageJob, ImageResult } from './image.ts';

const scope = self as unknown as { onmessage: ((e: MessageEvent<ImageJob>) => void) | null; postMessage(m: ImageResult): void };

async function run(job: ImageJob): Promise<ImageResult> {
  let bitmap: ImageBitmap;
  try {
    // Chromium applies the EXIF orientation here, so the pixels come out upright.
    bitmap = await createImageBitmap(job.file);
  } catch {
    return { ok: false, reason: 'undecodable' };
  }
  const { width: w, height: h } = bitmap;
  const thumbhash = thumbhashOf(bitmap, w, h);
  const thumbnail = await thumbnailOf(bitmap, w, h, job.maxThumbnailLength);
  if (!job.reencode) return { ok: true, width: w, height: h, thumbhash, thumbnail };
  const size = fitInside(w, h, job.maxSide);
  const canvas = new OffscreenCanvas(size.width, size.height);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, size.width, size.height);
  bitmap.close();
  // A browser without a WebP encoder hands back PNG: then JPEG.
  let blob = await canvas.convertToBlob({ type: 'image/webp', quality: 0.8 });
  if (blob.type !== 'image/webp') blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.85 });
  if (blob.type !== 'image/jpeg' && blob.type !== 'image/webp') return { ok: false, reason: 'unencodable' };
  return { ok: true, blob, mimeType: blob.type, width: size.width, height: size.height, thumbhash, thumbnail };
}

scope.onmessage = (e) => {
  run(e.data).then(
    (r) => scope.postMessage(r),
    (err: unknown) => scope.postMessage({ ok: false, reason: String(err) }),
  );
};
