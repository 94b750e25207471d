import type { Attachment } from '@parley/sdk';
import { placeholderUrl } from '../../media/thumbs.ts';
import { AttachmentAudio } from './attachment-audio.tsx';
import { DownloadLink } from './download-link.tsx';
import { useFileUrl } from './use-file-url.ts';
import { FileIcon } from '../shared/icons.tsx';

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

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function MediaTile({ a, onOpen }: { a: Attachment; onOpen?: (a: Attachment) => void }) {
  const video = a.mimeType.startsWith('video/');
  // Videos load only in the viewer: the timeline shows their poster.
  const f = useFileUrl(a.fileId, !video);
  const size = mediaSize(a);
  const ph = placeholderUrl(a);
  return (
    <div class="media">
      <button
        type="button"
        class={`media-tile${video ? ' video' : ''}`}
        data-file-id={a.fileId}
        style={{ width: `${size.width}px`, aspectRatio: `${size.width} / ${size.height}` }}
        onClick={() => onOpen?.(a)}
        disabled={f.missing}
        aria-label={`${video ? 'Play video' : 'Open photo'} ${a.name}`}
      >
        {ph && <img class="ph" src={ph} alt="" aria-hidden="true" />}
        {f.url && <img class="full" src={f.url} alt={a.name} />}
        {video && (
          <span class="play" aria-hidden="true">
            ▶
          </span>
        )}
        {video && a.durationMs !== undefined && <span class="duration">{formatDuration(a.durationMs)}</span>}
        {f.missing && <span class="gone">No longer available</span>}
        {!f.url && !f.missing && f.progress !== undefined && (
          <span class="loading-bar" aria-hidden="true">
            <span style={{ width: `${Math.round(f.progress * 100)}%` }} />
          </span>
        )}
      </button>
      <DownloadLink a={a} />
    </div>
  );
}

function FileRow({ a }: { a: Attachment }) {
  return (
    <div class="file">
      <span class="file-icon">
        <FileIcon />
      </span>
      <DownloadLink a={a} />
    </div>
  );
}

/** A message's files: photos and videos at their final size, voice notes, and other files. */
export function Attachments({ list, onOpen }: { list: Attachment[]; onOpen?: (a: Attachment) => void }) {
  return (
    <div class="attachments">
      {list.map((a) =>
        a.voice ? (
          <AttachmentAudio key={a.fileId} a={a} />
        ) : isVisual(a) ? (
          <MediaTile key={a.fileId} a={a} onOpen={onOpen} />
        ) : (
          <FileRow key={a.fileId} a={a} />
        ),
      )}
    </div>
  );
}
