import { rgbaToThumbHash } from 'thumbhash';
import { MAX_THUMBNAIL_LENGTH } from '@parley/protocol/constants';

/** Longest side of the inline thumbnail, and of the bitmap the thumbhash is computed from (thumbhash takes ≤ 100 px). */
const THUMBNAIL_SIDE = 96;
/** Tried in order until the base64 fits in MAX_THUMBNAIL_LENGTH: smaller images before worse ones. */
const ATTEMPTS: { side: number; quality: number }[] = [
  { side: 96, quality: 0.7 },
  { side: 96, quality: 0.5 },
  { side: 72, quality: 0.5 },
  { side: 48, quality: 0.5 },
];

export interface PosterPreviews {
  /** ThumbHash of the frame, base64 */
  thumbhash: string;
  /** A WebP (or JPEG where WebP is not encodable) of at most 96 px a side, base64; absent if none fits the limit */
  thumbnail?: string;
}

/** The thumbhash and the small inline thumbnail of one video frame (or any drawable). */
export async function posterPreviews(source: CanvasImageSource, width: number, height: number): Promise<PosterPreviews> {
  const small = drawScaled(source, width, height, THUMBNAIL_SIDE);
  const pixels = small.getContext('2d')!.getImageData(0, 0, small.width, small.height);
  const thumbhash = bytesToBase64(rgbaToThumbHash(small.width, small.height, pixels.data));
  for (const { side, quality } of ATTEMPTS) {
    const canvas = side === THUMBNAIL_SIDE ? small : drawScaled(source, width, height, side);
    const encoded = bytesToBase64(new Uint8Array(await (await encodeImage(canvas, quality)).arrayBuffer()));
    if (encoded.length <= MAX_THUMBNAIL_LENGTH) return { thumbhash, thumbnail: encoded };
  }
  return { thumbhash };
}

function drawScaled(source: CanvasImageSource, width: number, height: number, side: number): OffscreenCanvas {
  const scale = Math.min(1, side / Math.max(width, height));
  const canvas = new OffscreenCanvas(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)));
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
  return canvas;
}

// Chromium returns PNG for types it cannot encode: check the type and fall back to JPEG.
async function encodeImage(canvas: OffscreenCanvas, quality: number): Promise<Blob> {
  const webp = await canvas.convertToBlob({ type: 'image/webp', quality });
  if (webp.type === 'image/webp') return webp;
  return canvas.convertToBlob({ type: 'image/jpeg', quality });
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
