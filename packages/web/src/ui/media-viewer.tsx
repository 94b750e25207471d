import { useEffect, useRef } from 'preact/hooks';
import type { Attachment } from '@parley/sdk';
import { placeholderUrl } from '../media/thumbs.ts';
import { DownloadLink } from './message-list/download-link.tsx';
import { useFileUrl } from './message-list/use-file-url.ts';

interface Props {
  /** The photos and videos of the chat, oldest first */
  items: Attachment[];
  index: number;
  onMove(index: number): void;
  onClose(): void;
}

/** A photo or video over the whole window; Escape closes it, the arrow keys go to the chat's other media. */
export function MediaViewer({ items, index, onMove, onClose }: Props) {
  const a = items[index];
  const close = useRef<HTMLButtonElement>(null);
  const f = useFileUrl(a?.fileId ?? '', !!a);

  useEffect(() => {
    close.current?.focus();
  }, []);
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (e.key === 'Escape') onClose();
      else if (e.key === 'ArrowLeft' && index > 0) onMove(index - 1);
      else if (e.key === 'ArrowRight' && index < items.length - 1) onMove(index + 1);
      else return;
      e.preventDefault();
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [index, items.length]);

  if (!a) return null;
  const video = a.mimeType.startsWith('video/');
  const ph = placeholderUrl(a);
  return (
    <div class="viewer" role="dialog" aria-modal="true" aria-label={a.name} onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="viewer-bar">
        <span class="viewer-count">
          {index + 1} / {items.length}
        </span>
        <DownloadLink a={a} />
        <button type="button" ref={close} class="icon-button" onClick={onClose} aria-label="Close">
          ✕
        </button>
      </div>
      {index > 0 && (
        <button type="button" class="viewer-nav prev" onClick={() => onMove(index - 1)} aria-label="Previous">
          ‹
        </button>
      )}
      <div class="viewer-stage" onClick={(e) => e.target === e.currentTarget && onClose()}>
        {f.missing ? (
          <p class="viewer-msg">No longer available</p>
        ) : f.failed ? (
          <p class="viewer-msg">Could not load the file</p>
        ) : !f.url ? (
          ph ? (
            <img class="viewer-media ph" src={ph} alt="" />
          ) : (
            <p class="viewer-msg">Loading…</p>
          )
        ) : video ? (
          <video key={f.url} class="viewer-media" src={f.url} controls autoPlay playsInline aria-label={a.name} />
        ) : (
          <img key={f.url} class="viewer-media" src={f.url} alt={a.name} />
        )}
      </div>
      {index < items.length - 1 && (
        <button type="button" class="viewer-nav next" onClick={() => onMove(index + 1)} aria-label="Next">
          ›
        </button>
      )}
    </div>
  );
}
