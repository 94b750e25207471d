import { downloadWithProgress, type ParleyClient } from '@parley/sdk';

/** Object URLs kept after their last user goes (scrolled out of the virtual list), newest last. */
const MAX_IDLE = 24;

interface Entry {
  promise: Promise<string>;
  url?: string;
  refs: number;
  listeners: Set<(got: number, total: number) => void>;
}

const entries = new Map<string, Entry>();

function evict(): void {
  const idle = [...entries].filter(([, e]) => e.refs === 0 && e.url);
  for (const [id, e] of idle.slice(0, Math.max(0, idle.length - MAX_IDLE))) {
    URL.revokeObjectURL(e.url!);
    entries.delete(id);
  }
}

export interface FileUrlHandle {
  /** The object URL of the downloaded file (bearer-authenticated through the SDK) */
  url: Promise<string>;
  /** Gives the URL back; it stays cached for a while, and is revoked when the cache drops it. */
  release(): void;
}

/**
 * An object URL for a file, downloaded once and shared by everything showing it, with progress.
 * A failed download is forgotten, so the next call tries again.
 */
export function acquireFileUrl(client: ParleyClient, fileId: string, onProgress?: (got: number, total: number) => void): FileUrlHandle {
  let e = entries.get(fileId);
  if (e) {
    entries.delete(fileId);
    entries.set(fileId, e);
  } else {
    const listeners = new Set<(got: number, total: number) => void>();
    const created: Entry = {
      refs: 0,
      listeners,
      promise: downloadWithProgress(client, fileId, { onProgress: (g, t) => listeners.forEach((l) => l(g, t)) }).then(
        (blob) => (created.url = URL.createObjectURL(blob)),
        (err: unknown) => {
          if (entries.get(fileId) === created) entries.delete(fileId);
          throw err;
        },
      ),
    };
    e = created;
    entries.set(fileId, e);
  }
  const entry = e;
  entry.refs++;
  if (onProgress) entry.listeners.add(onProgress);
  let released = false;
  return {
    url: entry.promise,
    release() {
      if (released) return;
      released = true;
      entry.refs--;
      if (onProgress) entry.listeners.delete(onProgress);
      evict();
    },
  };
}

/** Saves a file under its name: an `<a download>` clicked on its object URL. */
export function saveAs(url: string, name: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}
