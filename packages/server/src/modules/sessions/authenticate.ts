import type { DeviceInfo } from '../../lib/credentials.ts';
import { AppError } from '../../lib/errors.ts';
import { hashToken } from '../../lib/ids.ts';
import type { Actor, Services } from '../services.ts';
import { findByAccessHash, liveAccessHashes, touchSession } from './sessions.store.ts';

const SEEN_WRITE_INTERVAL_MS = 60_000;
/**
 * How often a node re-checks its cached tokens against the store. Revocations reach every node on the
 * bus at once; this bounds how long one the bus does not carry (an operator command run from the CLI,
 * a lost bus message, a token rotated on another node) can go unseen.
 */
export const TOKEN_RECHECK_INTERVAL_MS = 1000;
const RECHECK_BATCH = 500;

/** The current access-token hash of each of these sessions that still exists and whose user is active. */
async function currentAccessHashes(s: Services, sessionIds: string[]): Promise<Map<string, string>> {
  const live = new Map<string, string>();
  for (let i = 0; i < sessionIds.length; i += RECHECK_BATCH) {
    for (const row of await liveAccessHashes(s.db.kysely, sessionIds.slice(i, i + RECHECK_BATCH))) live.set(row.id, row.access_hash);
  }
  return live;
}

/** Resolves a bearer access token to the actor, from the cache when it can. */
export async function authenticate(s: Services, accessToken: string, device: DeviceInfo): Promise<Actor> {
  const hash = hashToken(accessToken);
  const now = s.now();
  // If the store cannot be reached, the lookup below (or the request itself) reports it.
  await s.tokens
    .recheck(now, TOKEN_RECHECK_INTERVAL_MS, (ids) => currentAccessHashes(s, ids))
    .catch((err) => {
      s.log.warn({ err }, 'token cache re-check failed');
    });
  let resolved = s.tokens.get(hash, now);
  if (!resolved) {
    const row = await findByAccessHash(s.db.kysely, hash);
    if (!row || row.access_expires_at <= now || row.disabled_at !== null) {
      throw new AppError('unauthorized', 'The access token is invalid, expired or revoked');
    }
    resolved = { sessionId: row.id, userId: row.user_id, isAdmin: row.is_admin === 1, expiresAt: row.access_expires_at, seenAt: row.last_seen_at };
    s.tokens.set(hash, resolved, now);
  }
  if (now - resolved.seenAt > SEEN_WRITE_INTERVAL_MS) {
    resolved.seenAt = now;
    // Activity is informative only: a failed write must not fail the request.
    touchSession(s.db.kysely, { sessionId: resolved.sessionId, now, ...device }).catch((err) => s.log.warn({ err }, 'session activity update failed'));
  }
  return { userId: resolved.userId, sessionId: resolved.sessionId, isAdmin: resolved.isAdmin, ...device };
}
