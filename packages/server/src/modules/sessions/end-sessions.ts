import { endDevices } from '../devices/end-devices.ts';
import { recordUserEvent } from '../sync/event-log.ts';
import type { Work } from '../sync/unit-of-work.ts';
import { deleteUserSessions } from './sessions.store.ts';

/** Records in the user's log that these sessions ended, so the user's other devices hear of it. */
export async function recordEnded(work: Work, userId: string, sessionIds: string[]): Promise<void> {
  for (const sessionId of sessionIds) await recordUserEvent(work, userId, { type: 'session.terminated', sessionId });
}

export interface EndSessionsOptions {
  /** the session to leave alone */
  keep?: string;
  /** record the ends in the user's log (for the devices that stay); not worth it when none stays */
  record?: boolean;
}

/** Ends every session of a user except `keep`, as part of a change; used by password changes, disabling and deletion too. */
export async function endSessions(work: Work, userId: string, options: EndSessionsOptions = {}): Promise<string[]> {
  const ids = await deleteUserSessions(work.tx, { userId, keep: options.keep });
  if (options.record) await recordEnded(work, userId, ids);
  await endDevices(work, ids);
  work.revoke(ids);
  return ids;
}
