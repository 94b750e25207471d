import { MAX_THUMBNAIL_LENGTH } from '@parley/sdk';
import { prepareImage } from './image.ts';
import type { PreparedMedia } from './prepared-media.ts';
import { thumbhashOf, thumbnailOf } from './thumbs.ts';

/** How a photo or video is sent: re-encoded on this device (the default), or its bytes as they are. */
export type SendMode = 'compressed' | 'original';

export type MediaKind = 'image' | 'video' | 'file';

/** Images the browser re-encodes well; an animated GIF or an SVG would lose what it is. */
const STILL_IMAGE = /^image\/(jpeg|png|webp|bmp|avif|heic|heif)$/;

/** Whether a picked file is offered the compressed / original choice. */
export function mediaKind(file: { type: string }): MediaKind {
  if (STILL_IMAGE.test(file.type)) return 'image';
  if (file.type.startsWith('video/')) return 'video';
  return 'file';
}

export interface PrepareOptions {
  signal?: AbortSignal;
  /** Preparing progress, 0–1 (video transcoding) */
  onProgress?: (fraction: number) => void;
}

function asFile(file: File): PreparedMedia {
  return { blob: file, name: file.name || 'file', mimeType: file.type || 'application/octet-stream' };
}

/** Makes a picked file ready to upload, as chosen: compressed media, or the file with what can be read of it. */
export async function prepareFile(file: File, mode: SendMode, options: PrepareOptions = {}): Promise<PreparedMedia> {
  const kind = mediaKind(file);
  if (kind === 'image' || file.type === 'image/gif') {
    // Not decodable here (HEIC in most browsers): it goes as a file.
    return (await prepareImage(file, { compress: mode === 'compressed' && kind === 'image', signal: options.signal })) ?? asFile(file);
  }
  if (kind === 'video') return mode === 'compressed' ? prepareVideo(file, options) : { ...asFile(file), ...(await readVideo(file, options.signal)) };
  return asFile(file);
}

/**
 * A video picked as "compressed": transcoded on this device (WebCodecs, in a chunk loaded only
 * now, so that its library stays out of the main bundle). A video this browser cannot read or
 * encode goes as the original file, with what a <video> element can tell of it.
 */
export async function prepareVideo(file: File, options: PrepareOptions = {}): Promise<PreparedMedia> {
  try {
    const { compressVideo } = await import('./video.ts');
    return await compressVideo(file, options);
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const meta = await readVideo(file, options.signal);
    options.onProgress?.(1);
    return { ...asFile(file), ...meta };
  }
}

type VideoMeta = Pick<PreparedMedia, 'width' | 'height' | 'durationMs' | 'thumbhash' | 'thumbnail'>;

/** Width, height, duration and a poster of a video, from a <video> element; empty when it cannot play it here. */
function readVideo(file: File, signal?: AbortSignal): Promise<VideoMeta> {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(file);
    const video = document.createElement('video');
    let settled = false;
    let size: VideoMeta = {};
    const finish = (meta: VideoMeta) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      video.removeAttribute('src');
      video.load();
      URL.revokeObjectURL(url);
      resolve(meta);
    };
    const timer = setTimeout(() => finish(size), 8000);
    signal?.addEventListener('abort', () => finish(size), { once: true });
    video.muted = true;
    video.preload = 'auto';
    video.onerror = () => finish(size);
    video.onloadedmetadata = () => {
      if (!video.videoWidth || !video.videoHeight) return finish({});
      size = {
        width: video.videoWidth,
        height: video.videoHeight,
        ...(Number.isFinite(video.duration) ? { durationMs: Math.round(video.duration * 1000) } : {}),
      };
      // A frame a little in, rather than a black first frame.
      video.currentTime = Math.min(0.5, (video.duration || 0) / 2);
    };
    video.onseeked = () => {
      void (async () => {
        try {
          const w = video.videoWidth;
          const h = video.videoHeight;
          const thumbhash = thumbhashOf(video, w, h);
          const thumbnail = await thumbnailOf(video, w, h, MAX_THUMBNAIL_LENGTH);
          finish({ ...size, thumbhash, ...(thumbnail ? { thumbnail } : {}) });
        } catch {
          finish(size);
        }
      })();
    };
    video.src = url;
  });
}
