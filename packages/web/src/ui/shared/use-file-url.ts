import { useEffect, useState } from 'preact/hooks';
import type { ParleyClient } from '@parley/sdk';
import { useServices } from '../app-context.ts';

/**
 * Object URLs of small files shown in many places (profile pictures), one download each: a file id
 * never names other bytes, so a URL made once serves until the page goes. The oldest go past 300.
 */
const urls = new Map<string, Promise<string>>();
const KEEP = 300;

function objectUrl(client: ParleyClient, fileId: string): Promise<string> {
  let url = urls.get(fileId);
  if (!url) {
    url = client.downloadFile(fileId).then(async (res) => URL.createObjectURL(await res.blob()));
    // A failed download is tried again the next time the file is shown.
    url.catch(() => urls.delete(fileId));
    urls.set(fileId, url);
    while (urls.size > KEEP) {
      const [oldest, old] = urls.entries().next().value!;
      urls.delete(oldest);
      void old.then(
        (u) => URL.revokeObjectURL(u),
        () => undefined,
      );
    }
  }
  return url;
}

/** The object URL of a file (downloaded with the session's token), once it has arrived. */
export function useFileUrl(fileId: string | null | undefined): string | undefined {
  const { client } = useServices();
  const [url, setUrl] = useState<{ fileId: string; url: string }>();
  useEffect(() => {
    if (!fileId) return;
    let live = true;
    objectUrl(client, fileId).then(
      (u) => live && setUrl({ fileId, url: u }),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [client, fileId]);
  return fileId && url?.fileId === fileId ? url.url : undefined;
}
