import type { Attachment } from '@parley/sdk';

/** The box a photo or video is shown in: its aspect ratio, at most this many px a side. */
export const MEDIA_BOX = { width: 320, height: 320 };
/** Media with no dimensions get a fixed box, shown with `contain`, so nothing moves when they load. */
const UNKNOWN = { width: 240, height: 180 };

/** Types a browser shows in <img> or plays in <video>; anything else is offered as a file. */
const SHOWN = /^(image\/(jpeg|png|webp|gif|avif|bmp)|video\/(mp4|webm|ogg))$/;

export function isVisual(a: Pick<Attachment, 'mimeType' | 'voice'>): boolean {
  return !a.voice && SHOWN.test(a.mimeType);
}

/** The size a photo or video takes in the timeline, known before its bytes arrive. */
export function mediaSize(a: Pick<Attachment, 'width' | 'height'>): { width: number; height: number } {
  if (!a.width || !a.height) return UNKNOWN;
  const k = Math.min(1, MEDIA_BOX.width / a.width, MEDIA_BOX.height / a.height);
  return { width: Math.max(48, Math.round(a.width * k)), height: Math.max(48, Math.round(a.height * k)) };
}
