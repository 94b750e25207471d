import { useState } from 'preact/hooks';
import type { Attachment } from '@parley/sdk';
import { DownloadLink } from './download-link.tsx';
import { useFileUrl } from './use-file-url.ts';
import { VoicePlayer } from './voice-player.tsx';

/** A voice note (a player with its waveform, loaded on the first play) or an audio file (a plain player). */
export function AttachmentAudio({ a }: { a: Attachment }) {
  const [wanted, setWanted] = useState(!a.voice);
  const f = useFileUrl(a.fileId, wanted);
  return (
    <div class="attachment-audio">
      {f.missing ? (
        <span class="file-state">No longer available</span>
      ) : a.voice ? (
        <VoicePlayer src={f.url} load={() => setWanted(true)} durationMs={a.durationMs} waveform={a.waveform} />
      ) : f.url ? (
        <audio controls preload="metadata" src={f.url} aria-label={a.name} />
      ) : (
        <span class="file-state">Loading…</span>
      )}
      <DownloadLink a={a} />
    </div>
  );
}
