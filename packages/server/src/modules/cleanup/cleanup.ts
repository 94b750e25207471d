import type { Services } from '../services.ts';
import { commit } from '../sync/unit-of-work.ts';
import * as store from './cleanup.store.ts';
import { collectFiles } from '../files/collect.ts';
import { endDevices } from '../devices/end-devices.ts';
import { deleteExpiredKeyPackages } from '../devices/devices.store.ts';
import { deleteExpiredDeviceLinks } from '../devices/device-links.store.ts';
import { endCallsOfEndedSessions, expireRingingCalls } from '../calls/calls.ts';

/** Revoked and expired invites stay listed (and refused with their reason) this long before they go. */
export const INVITE_RETENTION_MS = 7 * 86_400_000;

/** Rows removed per statement, so that no run holds locks for long. */
const BATCH = 500;

export interface CleanupReport {
  sessions: number;
  invites: number;
  chats: number;
  userEvents: number;
  files: number;
  uploads: number;
  /** calls ended: rung past their time (missed), or with a device whose session is gone */
  calls: number;
}

/**
 * Removes what nothing needs any more: sessions whose refresh token has expired, invites revoked or
 * expired a while ago, KeyPackages past their lifetime, chats deleted for everyone or left by everyone (their members, messages and log
 * go with them), the personal log of deleted accounts, files no message references past their grace,
 * uploads abandoned past their expiry, and calls that rang too long or lost a device's session.
 *
 * Every step is a conditional delete that is correct however often it runs, so several nodes may run
 * it at the same time: a row one of them deleted is simply not there for the others.
 */
export async function runCleanup(s: Services): Promise<CleanupReport> {
  const now = s.now();
  const report: CleanupReport = { sessions: 0, invites: 0, chats: 0, userEvents: 0, files: 0, uploads: 0, calls: 0 };
  const db = s.db.kysely;

  for (;;) {
    // The delete and its announcement as one change: their access tokens expired long ago, but
    // this still drops any cached entry and open socket at once.
    const { ids, found } = await commit(s, async (work) => {
      const batch = await store.deleteExpiredSessions(work.tx, { now, limit: BATCH });
      await endDevices(work, batch.ids);
      work.revoke(batch.ids);
      return batch;
    });
    report.sessions += ids.length;
    if (found < BATCH) break;
  }

  // After the sessions: a call whose device's session just expired ends with it. The node a call
  // rang on ends it on time; this catches those whose node went away.
  report.calls += await expireRingingCalls(s);
  report.calls += await endCallsOfEndedSessions(s);

  report.invites += await store.deleteOldInvites(db, now - INVITE_RETENTION_MS);
  // Claims skip them already; this only frees the rows.
  await deleteExpiredKeyPackages(db, now);
  await deleteExpiredDeviceLinks(db, now);

  for (;;) {
    const gone = await store.abandonedChatIds(db, BATCH);
    for (const id of gone) {
      if (await commit(s, ({ tx }) => store.removeAbandonedChat(tx, id, now))) report.chats += 1;
    }
    if (gone.length < BATCH) break;
  }

  report.userEvents += await store.deleteLogsOfDeletedUsers(db);

  // After the chats: the files of messages purged just now start their grace in this run.
  const collected = await collectFiles(s);
  report.files += collected.unreferenced;
  report.uploads += collected.expiredUploads;
  return report;
}

/** Runs the cleanup every `intervalMs`; a run never overlaps the previous one on this node. */
export function scheduleCleanup(s: Services, intervalMs: number): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = runCleanup(s)
      .then((report) => {
        if (Object.values(report).some((n) => n > 0)) s.log.info({ cleanup: report }, 'cleanup removed old rows');
      })
      .catch((err) => s.log.warn({ err }, 'cleanup failed; it runs again at the next interval'))
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
