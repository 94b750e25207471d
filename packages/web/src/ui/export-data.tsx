import { useEffect, useRef, useState } from 'preact/hooks';
import { readWithProgress } from '@parley/sdk';
import { useServices } from './app-context.ts';
import { ErrorText } from './shared/error-text.tsx';
import { errorText } from './shared/form-helpers.ts';
import { formatBytes } from './shared/format-bytes.ts';
import { saveDownload } from './shared/save-download.ts';

type Phase = { name: 'idle' } | { name: 'preparing' } | { name: 'downloading'; received: number } | { name: 'done'; size: number };

/**
 * "Download my data": fetches the export with the session's token in the Authorization header (so
 * no token goes in a URL), reads the zip as it streams in with its progress shown, then saves it.
 */
export function ExportData() {
  const { client } = useServices();
  const [phase, setPhase] = useState<Phase>({ name: 'idle' });
  const [error, setError] = useState<string | null>(null);
  const stop = useRef<AbortController | null>(null);
  // Leaving the page stops a download under way.
  useEffect(() => () => stop.current?.abort(), []);

  async function download() {
    const controller = new AbortController();
    stop.current = controller;
    setError(null);
    setPhase({ name: 'preparing' });
    try {
      const res = await client.exportMyData();
      const blob = await readWithProgress(res, { signal: controller.signal, onProgress: (received) => setPhase({ name: 'downloading', received }) });
      saveDownload(blob, res, 'parley-export.zip');
      setPhase({ name: 'done', size: blob.size });
    } catch (err) {
      if (controller.signal.aborted) return;
      setError(errorText(err));
      setPhase({ name: 'idle' });
    } finally {
      if (stop.current === controller) stop.current = null;
    }
  }

  const busy = phase.name === 'preparing' || phase.name === 'downloading';
  return (
    <section class="card" aria-label="My data">
      <h3>My data</h3>
      <p class="hint">A zip of your profile, your chats, the messages you wrote and the files you sent. A few downloads an hour.</p>
      <ErrorText error={error} />
      {busy && (
        <p class="hint" role="status">
          {phase.name === 'preparing' ? 'Preparing…' : `Downloading… ${formatBytes(phase.received)}`}
        </p>
      )}
      {phase.name === 'done' && (
        <p class="info" role="status">
          Downloaded ({formatBytes(phase.size)})
        </p>
      )}
      <button type="button" disabled={busy} onClick={() => void download()}>
        Download my data
      </button>
    </section>
  );
}
