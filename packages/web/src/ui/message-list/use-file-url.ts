import { useEffect, useState } from 'preact/hooks';
import { ParleyError } from '@parley/sdk';
import { useServices } from '../app-context.ts';
import { acquireFileUrl } from '../shared/file-urls.ts';

export interface FileUrlState {
  url?: string;
  /** 0–1 while downloading */
  progress?: number;
  /** 404: deleted, or never mine to read */
  missing?: boolean;
  failed?: boolean;
}

/** The object URL of a file while the component is mounted (when `load` is true). */
export function useFileUrl(fileId: string, load: boolean): FileUrlState {
  const { client } = useServices();
  const [s, setS] = useState<FileUrlState>({});
  useEffect(() => {
    if (!load) return;
    let live = true;
    const h = acquireFileUrl(client, fileId, (got, total) => live && total > 0 && setS((p) => (p.url ? p : { progress: got / total })));
    h.url.then(
      (url) => live && setS({ url }),
      (err: unknown) => live && setS(err instanceof ParleyError && err.status === 404 ? { missing: true } : { failed: true }),
    );
    return () => {
      live = false;
      h.release();
    };
  }, [fileId, load]);
  return s;
}
