import type { Attachment } from '@parley/sdk';
import { placeholderUrl } from '../../media/thumbs.ts';
import { AttachmentAudio } from './attachment-audio.tsx';
import { DownloadLink } from './download-link.tsx';
import { useFileUrl } from './use-file-url.ts';
import { FileIcon } from '../shared/icons.tsx';
import { isVisual, mediaSize } from './media-size.ts';

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
        class={`media-tile${video ? ' video' : ''}${a.width && a.height ? '' : ' unsized'}`}
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
