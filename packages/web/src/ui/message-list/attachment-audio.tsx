import type { Attachment } from '@parley/sdk';
import { useFileUrl } from './use-file-url.ts';
import { DownloadLink } from './download-link.tsx';

/** A voice note: for now a plain audio element, loaded when shown. */
export function AttachmentAudio({ a }: { a: Attachment }) {
  const f = useFileUrl(a.fileId, true);
  return (
    <div class="attachment-audio">
      {f.url ? (
        <audio controls preload="metadata" src={f.url} aria-label="Voice note" />
      ) : (
        <span class="file-state">{f.missing ? 'No longer available' : 'Loading…'}</span>
      )}
      <DownloadLink a={a} />
    </div>
  );
}
