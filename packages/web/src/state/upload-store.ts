import type { AttachmentInput } from '@parley/sdk';
import type { SendMode } from '../media/prepare.ts';
import type { PreparedMeta } from './uploads-model.ts';

/** A message waiting for its files, kept in IndexedDB (Files and all) so that a reload goes on with it. */
export interface SavedUploadJob {
  id: string;
  userId: string;
  chatId: string;
  text: string;
  replyToId?: string;
  items: { id: string; file: File; mode: SendMode; prepared?: PreparedMeta; attachment?: AttachmentInput }[];
}

const DB_NAME = 'parley-uploads';
const STORE = 'jobs';

let db: Promise<IDBDatabase | null> | null = null;

function open(): Promise<IDBDatabase | null> {
  db ??= new Promise((resolve) => {
    if (typeof indexedDB === 'undefined') return resolve(null);
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    // Private mode or storage off: uploads still work, they just do not outlive the page.
    req.onerror = () => resolve(null);
  });
  return db;
}

async function run<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> {
  const d = await open();
  if (!d) return undefined;
  return new Promise((resolve) => {
    try {
      const req = fn(d.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(undefined);
    } catch {
      resolve(undefined);
    }
  });
}

export const uploadStore = {
  async load(userId: string): Promise<SavedUploadJob[]> {
    const all = (await run<SavedUploadJob[]>('readonly', (s) => s.getAll() as IDBRequest<SavedUploadJob[]>)) ?? [];
    return all.filter((j) => j.userId === userId);
  },
  async save(job: SavedUploadJob): Promise<void> {
    await run('readwrite', (s) => s.put(job));
  },
  async remove(jobId: string): Promise<void> {
    await run('readwrite', (s) => s.delete(jobId));
  },
  async clearUser(userId: string): Promise<void> {
    for (const j of await uploadStore.load(userId)) await uploadStore.remove(j.id);
  },
};
export type UploadStore = typeof uploadStore;
