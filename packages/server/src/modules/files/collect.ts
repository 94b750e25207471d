import type { Services } from '../services.ts';
import { deleteFileRows, deletingFiles, markCollectable } from './files.store.ts';

const BATCH = 500;

export interface CollectReport {
  unreferenced: number;
  expiredUploads: number;
}

/**
 * Deletes files no message references past their grace, and uploads abandoned past their expiry,
 * in three steps that are each safe to repeat and to run on several nodes at once: (1) move the rows
 * to `deleting` with one conditional UPDATE (a send can no longer attach them), (2) delete the blobs,
 * (3) delete the rows still in `deleting`. A run stopped between the steps is finished by the next.
 */
export async function collectFiles(s: Services, options: { batch?: number } = {}): Promise<CollectReport> {
  const batch = options.batch ?? BATCH;
  const report: CollectReport = { unreferenced: 0, expiredUploads: 0 };
  const now = s.now();
  const db = s.db.kysely;
  // Leftovers of a run that stopped half-way first.
  const left = await deletingFiles(db, batch);
  if (left.length > 0) await removeBlobs(s, left);
  for (;;) {
    const marked = await markCollectable(db, { now, unreferencedBefore: now - s.config.files.unreferencedGraceMs, limit: batch });
    if (marked.length === 0) break;
    await removeBlobs(
      s,
      marked.map((m) => m.id),
    );
    for (const m of marked) {
      const reason = m.state === 'uploading' ? 'expired_upload' : 'unreferenced';
      s.metrics.filesCollected.inc({ reason });
      if (reason === 'expired_upload') report.expiredUploads += 1;
      else report.unreferenced += 1;
    }
    if (marked.length < batch) break;
  }
  return report;
}

async function removeBlobs(s: Services, ids: string[]): Promise<void> {
  for (const id of ids) await s.blobs.delete(id);
  await deleteFileRows(s.db.kysely, ids);
}
