import type { Session } from '@parley/protocol';
import { AppError } from '../../lib/errors.ts';
import type { Actor, Services } from '../services.ts';
import { endDevices } from '../devices/end-devices.ts';
import { commit } from '../sync/unit-of-work.ts';
import { endSessions, recordEnded } from './end-sessions.ts';
import { deleteOwnSession, deleteSessions, findSession, userSessions } from './sessions.store.ts';
import { toSession } from './views.ts';

export async function logout(s: Services, actor: Actor): Promise<void> {
  await commit(s, async (work) => {
    await deleteSessions(work.tx, [actor.sessionId]);
    await endDevices(work, [actor.sessionId]);
    work.revoke([actor.sessionId]);
  });
}

export async function getCurrentSession(s: Services, actor: Actor): Promise<Session> {
  const row = await findSession(s.db.kysely, actor.sessionId);
  if (!row) throw new AppError('unauthorized', 'The session was terminated');
  return toSession(row, actor.sessionId);
}

export async function listSessions(s: Services, actor: Actor): Promise<Session[]> {
  return (await userSessions(s.db.kysely, actor.userId)).map((r) => toSession(r, actor.sessionId));
}

/** Terminates one session of the actor's own; someone else's is reported as missing. */
export async function terminateSession(s: Services, actor: Actor, sessionId: string): Promise<void> {
  if (sessionId === actor.sessionId) throw new AppError('invalid_request', 'Use logout to end the current session');
  await commit(s, async (work) => {
    if (!(await deleteOwnSession(work.tx, { sessionId, userId: actor.userId }))) throw new AppError('not_found', `Session "${sessionId}" was not found`);
    await recordEnded(work, actor.userId, [sessionId]);
    await endDevices(work, [sessionId]);
    work.revoke([sessionId]);
  });
}

export async function terminateOtherSessions(s: Services, actor: Actor): Promise<number> {
  const ids = await commit(s, (work) => endSessions(work, actor.userId, { keep: actor.sessionId, record: true }));
  return ids.length;
}
