import { useEffect, useState } from 'preact/hooks';
import type { DraftFile, OutgoingView, UploadView } from '../state/uploads-model.ts';
import type { SendMode } from '../media/prepare.ts';
import { useApp } from './app-context.ts';
import { formatBytes } from './shared/format-bytes.ts';

/** A small preview of a picked photo, from the local file (its URL revoked when the chip goes). */
function LocalThumb({ file }: { file: File }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    const u = URL.createObjectURL(file);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [file]);
  return url ? <img class="chip-thumb" src={url} alt="" /> : null;
}

/** The files picked for the next message, each photo or video with its compressed / original choice. */
export function DraftFiles({ drafts, onMode, onRemove }: { drafts: DraftFile[]; onMode(id: string, mode: SendMode): void; onRemove(id: string): void }) {
  if (drafts.length === 0) return null;
  return (
    <ul class="file-chips" aria-label="Files to send">
      {drafts.map((d) => (
        <li key={d.id} class="file-chip draft" data-draft={d.file.name}>
          {d.kind === 'image' && <LocalThumb file={d.file} />}
          <span class="chip-name" title={d.file.name}>
            {d.file.name || 'file'}
          </span>
          <span class="chip-size">{formatBytes(d.file.size)}</span>
          {d.kind !== 'file' && (
            <select
              aria-label={`How to send ${d.file.name}`}
              value={d.mode}
              onChange={(e) => onMode(d.id, (e.currentTarget as HTMLSelectElement).value as SendMode)}
            >
              <option value="compressed">Compressed</option>
              <option value="original">Original file</option>
            </select>
          )}
          <button type="button" class="icon-button" onClick={() => onRemove(d.id)} aria-label={`Remove ${d.file.name}`}>
            ✕
          </button>
        </li>
      ))}
    </ul>
  );
}

const STATE_TEXT: Record<UploadView['state'], string> = {
  queued: 'Waiting',
  preparing: 'Preparing',
  uploading: 'Uploading',
  paused: 'Paused',
  done: 'Uploaded',
  failed: 'Failed',
};

function UploadChip({ u }: { u: UploadView }) {
  const app = useApp();
  const pct = u.total > 0 ? Math.floor((u.sent / u.total) * 100) : 0;
  return (
    <li class={`file-chip upload ${u.state}`} data-upload={u.name} data-state={u.state}>
      <div class="chip-top">
        <span class="chip-name" title={u.name}>
          {u.name}
        </span>
        <span class="chip-progress-text">
          {STATE_TEXT[u.state]}
          {(u.state === 'uploading' || u.state === 'paused') && ` · ${pct} % of ${formatBytes(u.total)}`}
          {u.state === 'uploading' && u.speed > 0 && ` · ${formatBytes(Math.round(u.speed))}/s`}
        </span>
        {u.state === 'uploading' && (
          <button type="button" class="link" onClick={() => app.uploads.pause(u.id)} aria-label={`Pause ${u.name}`}>
            Pause
          </button>
        )}
        {u.state === 'paused' && (
          <button type="button" class="link" onClick={() => app.uploads.resume(u.id)} aria-label={`Resume ${u.name}`}>
            Resume
          </button>
        )}
        {u.state === 'failed' && (
          <button type="button" class="link" onClick={() => app.uploads.retry(u.id)} aria-label={`Retry ${u.name}`}>
            Retry
          </button>
        )}
        {u.state !== 'done' && (
          <button type="button" class="icon-button" onClick={() => app.uploads.cancel(u.id)} aria-label={`Cancel ${u.name}`}>
            ✕
          </button>
        )}
      </div>
      <progress max={100} value={u.state === 'done' ? 100 : pct} aria-label={`${u.name} uploaded`} />
      {u.error && (
        <p class="error chip-error" role="alert">
          {u.error}
        </p>
      )}
    </li>
  );
}

/** Messages of this chat whose files are still uploading. */
export function OutgoingUploads({ chatId }: { chatId: string }) {
  const app = useApp();
  const jobs: OutgoingView[] = app.uploads.outgoing.value.filter((j) => j.chatId === chatId);
  if (jobs.length === 0) return null;
  return (
    <div class="outgoing" aria-label="Uploads">
      {jobs.map((j) => (
        <ul key={j.id} class="file-chips" aria-label={j.text ? `Uploads for "${j.text}"` : 'Uploads'}>
          {j.items.map((u) => (
            <UploadChip key={u.id} u={u} />
          ))}
        </ul>
      ))}
    </div>
  );
}
