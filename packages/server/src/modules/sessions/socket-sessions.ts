import type { Services } from '../services.ts';
import { liveSessionExpiries } from './sessions.store.ts';

const CHECK_BATCH = 500;

/** What became of the sessions that open sockets belong to. */
export interface SocketSessionStates {
  /** deleted (logout, terminated, evicted, reused refresh token), expired, or the user disabled or deleted */
  ended: string[];
  /** alive, but nobody refreshed its access token before it expired */
  tokenExpired: string[];
}

/**
 * Checks the sessions of a node's sockets against the store: one query per 500 sessions, whatever
 * ended them and whether or not this node heard of it (the CLI, a bus outage).
 */
export async function checkSocketSessions(s: Services, sessionIds: string[]): Promise<SocketSessionStates> {
  const now = s.now();
  const live = new Map<string, number>();
  for (let i = 0; i < sessionIds.length; i += CHECK_BATCH) {
    for (const row of await liveSessionExpiries(s.db.kysely, sessionIds.slice(i, i + CHECK_BATCH), now)) live.set(row.id, row.access_expires_at);
  }
  const states: SocketSessionStates = { ended: [], tokenExpired: [] };
  for (const id of sessionIds) {
    const expiresAt = live.get(id);
    if (expiresAt === undefined) states.ended.push(id);
    else if (expiresAt <= now) states.tokenExpired.push(id);
  }
  return states;
}
