import { useState } from 'preact/hooks';
import { ParleyError, type Attachment } from '@parley/sdk';
import { useServices } from '../app-context.ts';
import { acquireFileUrl, saveAs } from '../shared/file-urls.ts';
import { formatBytes } from '../shared/format-bytes.ts';

/** "name · size" and a download button that saves the file under its name. */
export function DownloadLink({ a, showName = true }: { a: Attachment; showName?: boolean }) {
  const { client } = useServices();
  const [state, setState] = useState<string | null>(null);
  async function download() {
    const h = acquireFileUrl(client, a.fileId, (got, total) => total > 0 && setState(`${Math.floor((got / total) * 100)} %`));
    try {
      setState('…');
      saveAs(await h.url, a.name);
      setState(null);
    } catch (err) {
      setState(err instanceof ParleyError && err.status === 404 ? 'No longer available' : 'Download failed');
    } finally {
      h.release();
    }
  }
  return (
    <div class="file-line">
      {showName && (
        <span class="file-name" title={a.name}>
          {a.name}
        </span>
      )}
      <span class="file-size">{formatBytes(a.size)}</span>
      <button type="button" class="link download" onClick={download} aria-label={`Download ${a.name}`}>
        Download
      </button>
      {state && (
        <span class="file-state" role="status">
          {state}
        </span>
      )}
    </div>
  );
}
