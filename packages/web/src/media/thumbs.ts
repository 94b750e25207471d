import { rgbaToThumbHash, thumbHashToDataURL } from 'thumbhash';

/** Longest side of the inline thumbnail that a message carries. */
export const THUMBNAIL_SIDE = 96;
/** ThumbHash encodes at most 100 px a side. */
const HASH_SIDE = 100;

type Source = ImageBitmap | OffscreenCanvas | HTMLCanvasElement | HTMLVideoElement;

/** The size of `w`×`h` scaled down (never up) to fit `max` on its longer side. */
export function fitInside(w: number, h: number, max: number): { width: number; height: number } {
  const k = Math.min(1, max / Math.max(w, h));
  return { width: Math.max(1, Math.round(w * k)), height: Math.max(1, Math.round(h * k)) };
}

function draw(source: Source, w: number, h: number, max: number): OffscreenCanvas {
  const size = fitInside(w, h, max);
  const canvas = new OffscreenCanvas(size.width, size.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('No 2D canvas');
  ctx.drawImage(source, 0, 0, size.width, size.height);
  return canvas;
}

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A ThumbHash (base64) of an image or video frame of `w`×`h` pixels. */
export function thumbhashOf(source: Source, w: number, h: number): string {
  const canvas = draw(source, w, h, HASH_SIDE);
  const ctx = canvas.getContext('2d')!;
  const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return toBase64(rgbaToThumbHash(canvas.width, canvas.height, data));
}

/** A WebP (or JPEG) of at most 96 px a side, base64, of at most `maxLength` characters (MAX_THUMBNAIL_LENGTH). */
export async function thumbnailOf(source: Source, w: number, h: number, maxLength: number): Promise<string | undefined> {
  for (const side of [THUMBNAIL_SIDE, 64, 40]) {
    const canvas = draw(source, w, h, side);
    for (const quality of [0.7, 0.5, 0.3]) {
      let blob = await canvas.convertToBlob({ type: 'image/webp', quality });
      if (blob.type !== 'image/webp') blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
      const b64 = toBase64(new Uint8Array(await blob.arrayBuffer()));
      if (b64.length <= maxLength) return b64;
    }
  }
  return undefined;
}

/** A data URL showing the placeholder: the thumbnail when there is one, else the ThumbHash. */
export function placeholderUrl(a: { thumbhash?: string; thumbnail?: string; mimeType?: string }): string | undefined {
  if (a.thumbnail) return `data:${a.thumbnail.startsWith('/9j/') ? 'image/jpeg' : 'image/webp'};base64,${a.thumbnail}`;
  if (!a.thumbhash) return undefined;
  try {
    return thumbHashToDataURL(Uint8Array.from(atob(a.thumbhash), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}
