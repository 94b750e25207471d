import type { ExpressionBuilder } from 'kysely';
import type { DB } from '../../adapters/db/schema.ts';
import type { Services } from '../../services.ts';
import { announceRevoked } from '../sessions/sessions.ts';

/** Revoked and expired invites stay listed (and refused with their reason) this long before they go. */
export const INVITE_RETENTION_MS = 7 * 86_400_000;
/** A chat deleted for everyone, or one nobody is in any more. */
const nobodyLeft = (eb: ExpressionBuilder<DB, 'chats'>) =>
  eb.or([eb('deleted_at', 'is not', null), eb.not(eb.exists(eb.selectFrom('members').select('members.user_id').whereRef('members.chat_id', '=', 'chats.id')))]);

/** Rows removed per statement, so that no run holds locks for long. */
const BATCH = 500;

export interface CleanupReport {
  sessions: number;
  invites: number;
  chats: number;
  userEvents: number;
}

/**
 * Removes what nothing needs any more: sessions whose refresh token has expired, invites revoked or
 * expired a while ago, chats deleted for everyone or left by everyone (their members, messages and log
 * go with them), and the personal log of deleted accounts.
 *
 * Every step is a conditional delete that is correct however often it runs, so several nodes may run
 * it at the same time: a row one of them deleted is simply not there for the others.
 */
export async function runCleanup(s: Services): Promise<CleanupReport> {
  const now = s.now();
  const report: CleanupReport = { sessions: 0, invites: 0, chats: 0, userEvents: 0 };
  const db = s.db.kysely;

  for (;;) {
    const expired = await db.selectFrom('sessions').select('id').where('refresh_expires_at', '<=', now).limit(BATCH).execute();
    if (expired.length === 0) break;
    const ids = expired.map((r) => r.id);
    const deleted = await db.deleteFrom('sessions').where('id', 'in', ids).where('refresh_expires_at', '<=', now).returning('id').execute();
    report.sessions += deleted.length;
    // Their access tokens expired long ago; this still drops any cached entry and open socket at once.
    announceRevoked(s, deleted.map((r) => r.id));
    if (expired.length < BATCH) break;
  }

  const before = now - INVITE_RETENTION_MS;
  report.invites += Number(
    (
      await db
        .deleteFrom('invites')
        .where((eb) => eb.or([eb('expires_at', '<=', before), eb('revoked_at', '<=', before)]))
        .executeTakeFirst()
    ).numDeletedRows,
  );

  for (;;) {
    const gone = await db
      .selectFrom('chats')
      .select('id')
      .where(nobodyLeft)
      .limit(BATCH)
      .execute();
    if (gone.length === 0) break;
    for (const { id } of gone) {
      const removed = await s.db.transaction(async (tx) => {
        // Checked again inside the transaction: a chat is never removed while someone is in it.
        const still = await s.db
          .forUpdate(
            tx
              .selectFrom('chats')
              .select('id')
              .where('id', '=', id)
              .where(nobodyLeft),
          )
          .executeTakeFirst();
        if (!still) return false;
        await tx.deleteFrom('chat_events').where('chat_id', '=', id).execute();
        await tx.deleteFrom('messages').where('chat_id', '=', id).execute();
        await tx.deleteFrom('members').where('chat_id', '=', id).execute();
        await tx.deleteFrom('chats').where('id', '=', id).execute();
        return true;
      });
      if (removed) report.chats += 1;
    }
    if (gone.length < BATCH) break;
  }

  report.userEvents += Number(
    (
      await db
        .deleteFrom('user_events')
        .where('user_id', 'in', (eb) => eb.selectFrom('users').select('id').where('deleted_at', 'is not', null))
        .executeTakeFirst()
    ).numDeletedRows,
  );
  return report;
}

/** Runs the cleanup every `intervalMs`; a run never overlaps the previous one on this node. */
export function scheduleCleanup(s: Services, intervalMs: number): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return;
    running = runCleanup(s)
      .then((report) => {
        if (report.sessions + report.invites + report.chats + report.userEvents > 0) s.log.info({ cleanup: report }, 'cleanup removed old rows');
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
