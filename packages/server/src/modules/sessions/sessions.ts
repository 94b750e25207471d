import type { Session, SessionTokens } from '@parley/protocol';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Tx } from '../../adapters/db/database.ts';
import { AppError } from '../../errors.ts';
import type { Actor, Services } from '../../services.ts';
import { verifyNothing, verifyPassword } from '../accounts/passwords.ts';
import { hashToken, newId, newToken } from './tokens.ts';
import { SESSIONS_REVOKED, SESSIONS_ROTATED } from './token-cache.ts';
import { toSession } from './views.ts';
import { Outbox, recordUserEvent } from '../sync/log.ts';

export interface DeviceInfo {
  ip: string;
  userAgent: string;
}

export interface LoginInput {
  username: string;
  password: string;
  deviceName: string;
  sessionId?: string;
}

const SEEN_WRITE_INTERVAL_MS = 60_000;
/**
 * How often a node re-checks its cached tokens against the store. Revocations reach every node on the
 * bus at once; this bounds how long one the bus does not carry (an operator command run from the CLI,
 * a lost bus message, a token rotated on another node) can go unseen.
 */
export const TOKEN_RECHECK_INTERVAL_MS = 1000;
const RECHECK_BATCH = 500;

function issueTokens(s: Services, now: number) {
  const accessToken = newToken();
  const refreshToken = newToken();
  return {
    accessToken,
    refreshToken,
    accessHash: hashToken(accessToken),
    refreshHash: hashToken(refreshToken),
    accessExpiresAt: now + s.config.sessions.accessTtlMs,
    refreshExpiresAt: now + s.config.sessions.refreshTtlMs,
  };
}

function tokensView(sessionId: string, userId: string, t: ReturnType<typeof issueTokens>): SessionTokens {
  return {
    sessionId,
    userId,
    accessToken: t.accessToken,
    accessTokenExpiresAt: new Date(t.accessExpiresAt).toISOString(),
    refreshToken: t.refreshToken,
    refreshTokenExpiresAt: new Date(t.refreshExpiresAt).toISOString(),
  };
}

/** Tells every node that these sessions are gone: caches drop them, sockets close. */
export function announceRevoked(s: Services, sessionIds: string[]): void {
  if (sessionIds.length === 0) return;
  for (const id of sessionIds) s.tokens.dropSession(id);
  s.bus.publish(SESSIONS_REVOKED, { sessionIds });
}

function announceRotated(s: Services, sessionId: string): void {
  s.tokens.dropSession(sessionId);
  s.bus.publish(SESSIONS_ROTATED, { sessionIds: [sessionId] });
}

async function consumeLoginAttempt(s: Services, key: string): Promise<void> {
  try {
    await s.limiters.login.consume(key);
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    const retryAfter = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
    throw new AppError('rate_limited', `Too many login attempts, try again in ${retryAfter} seconds`, {
      'retry-after': String(retryAfter),
    });
  }
}

/** Signs a device in: a new session, or the same one again when the device names a session it had. */
export async function login(s: Services, input: LoginInput, device: DeviceInfo): Promise<SessionTokens> {
  const username = input.username.trim().toLowerCase();
  await consumeLoginAttempt(s, `${username}|${device.ip}`);

  const user = await s.db.kysely
    .selectFrom('users')
    .select(['id', 'password_hash', 'disabled_at'])
    .where('username', '=', username)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  const ok = user?.password_hash ? await verifyPassword(user.password_hash, input.password) : await verifyNothing(input.password);
  if (!user || !ok) throw new AppError('invalid_credentials', 'The username or password is wrong');
  if (user.disabled_at !== null) throw new AppError('account_disabled', 'This account is disabled');

  const now = s.now();
  const t = issueTokens(s, now);
  const out = new Outbox();
  const { sessionId, revoked } = await s.db.transaction(async (tx) => {
    // The user row lock serialises logins of one user, so the session limit holds under concurrency.
    await s.db.forUpdate(tx.selectFrom('users').select('id').where('id', '=', user.id)).execute();
    const fields = {
      device_name: input.deviceName,
      last_seen_at: now,
      ip: device.ip,
      user_agent: device.userAgent,
      access_hash: t.accessHash,
      access_expires_at: t.accessExpiresAt,
      refresh_hash: t.refreshHash,
      refresh_expires_at: t.refreshExpiresAt,
      prev_refresh_hash: null,
    };
    let sessionId: string | undefined;
    if (input.sessionId) {
      const reused = await tx
        .updateTable('sessions')
        .set(fields)
        .where('id', '=', input.sessionId)
        .where('user_id', '=', user.id)
        .returning('id')
        .executeTakeFirst();
      sessionId = reused?.id;
    }
    if (!sessionId) {
      sessionId = newId();
      await tx.insertInto('sessions').values({ id: sessionId, user_id: user.id, created_at: now, ...fields }).execute();
    }
    const revoked = await trimSessions(s, tx, user.id, sessionId);
    await recordEnded(tx, out, user.id, revoked, now);
    return { sessionId, revoked };
  });
  out.publish(s);
  announceRevoked(s, revoked);
  if (input.sessionId === sessionId) announceRotated(s, sessionId);
  return tokensView(sessionId, user.id, t);
}

/** Past the per-user limit, the oldest sessions go (never the one just signed in). */
async function trimSessions(s: Services, tx: Tx, userId: string, keepId: string): Promise<string[]> {
  const rows = await tx
    .selectFrom('sessions')
    .select('id')
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const others = rows.map((r) => r.id).filter((id) => id !== keepId);
  const excess = others.slice(s.config.sessions.max - 1);
  if (excess.length > 0) await tx.deleteFrom('sessions').where('id', 'in', excess).execute();
  return excess;
}

/** Rotates both tokens. A refresh token that was already rotated away revokes its session. */
export async function refresh(s: Services, refreshToken: string, device: DeviceInfo): Promise<SessionTokens> {
  const hash = hashToken(refreshToken);
  const now = s.now();
  const t = issueTokens(s, now);
  const out = new Outbox();
  const result = await s.db.transaction(async (tx) => {
    const session = await s.db
      .forUpdate(tx.selectFrom('sessions').select(['id', 'user_id', 'refresh_expires_at']).where('refresh_hash', '=', hash))
      .executeTakeFirst();
    if (!session) {
      const stolen = await tx.deleteFrom('sessions').where('prev_refresh_hash', '=', hash).returning(['id', 'user_id']).execute();
      for (const row of stolen) await recordEnded(tx, out, row.user_id, [row.id], now);
      return { kind: stolen.length > 0 ? ('reused' as const) : ('invalid' as const), revoked: stolen.map((r) => r.id) };
    }
    if (session.refresh_expires_at <= now) {
      await tx.deleteFrom('sessions').where('id', '=', session.id).execute();
      return { kind: 'invalid' as const, revoked: [session.id] };
    }
    const user = await tx.selectFrom('users').select(['disabled_at']).where('id', '=', session.user_id).executeTakeFirst();
    if (!user || user.disabled_at !== null) {
      await tx.deleteFrom('sessions').where('id', '=', session.id).execute();
      return { kind: 'invalid' as const, revoked: [session.id] };
    }
    await tx
      .updateTable('sessions')
      .set({
        access_hash: t.accessHash,
        access_expires_at: t.accessExpiresAt,
        refresh_hash: t.refreshHash,
        refresh_expires_at: t.refreshExpiresAt,
        prev_refresh_hash: hash,
        last_seen_at: now,
        ip: device.ip,
        user_agent: device.userAgent,
      })
      .where('id', '=', session.id)
      .execute();
    return { kind: 'ok' as const, sessionId: session.id, userId: session.user_id, revoked: [session.id] };
  });
  out.publish(s);
  if (result.kind !== 'ok') announceRevoked(s, result.revoked);
  if (result.kind === 'reused') throw new AppError('refresh_token_reused', 'This refresh token was already used; the session is revoked');
  if (result.kind === 'invalid') throw new AppError('refresh_token_invalid', 'The refresh token is invalid or expired');
  announceRotated(s, result.sessionId!);
  return tokensView(result.sessionId!, result.userId!, t);
}

/** The current access-token hash of each of these sessions that still exists and whose user is active. */
async function currentAccessHashes(s: Services, sessionIds: string[]): Promise<Map<string, string>> {
  const live = new Map<string, string>();
  for (let i = 0; i < sessionIds.length; i += RECHECK_BATCH) {
    const rows = await s.db.kysely
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.id', 'sessions.access_hash'])
      .where('sessions.id', 'in', sessionIds.slice(i, i + RECHECK_BATCH))
      .where('users.disabled_at', 'is', null)
      .where('users.deleted_at', 'is', null)
      .execute();
    for (const row of rows) live.set(row.id, row.access_hash);
  }
  return live;
}

/** Resolves a bearer access token to the actor, from the cache when it can. */
export async function authenticate(s: Services, accessToken: string, device: DeviceInfo): Promise<Actor> {
  const hash = hashToken(accessToken);
  const now = s.now();
  // If the store cannot be reached, the lookup below (or the request itself) reports it.
  await s.tokens.recheck(now, TOKEN_RECHECK_INTERVAL_MS, (ids) => currentAccessHashes(s, ids)).catch((err) => {
    s.log.warn({ err }, 'token cache re-check failed');
  });
  let resolved = s.tokens.get(hash, now);
  if (!resolved) {
    const row = await s.db.kysely
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.id', 'sessions.user_id', 'sessions.access_expires_at', 'sessions.last_seen_at', 'users.is_admin', 'users.disabled_at'])
      .where('sessions.access_hash', '=', hash)
      .executeTakeFirst();
    if (!row || row.access_expires_at <= now || row.disabled_at !== null) {
      throw new AppError('unauthorized', 'The access token is invalid, expired or revoked');
    }
    resolved = { sessionId: row.id, userId: row.user_id, isAdmin: row.is_admin === 1, expiresAt: row.access_expires_at, seenAt: row.last_seen_at };
    s.tokens.set(hash, resolved, now);
  }
  if (now - resolved.seenAt > SEEN_WRITE_INTERVAL_MS) {
    resolved.seenAt = now;
    // Activity is informative only: a failed write must not fail the request.
    s.db.kysely
      .updateTable('sessions')
      .set({ last_seen_at: now, ip: device.ip, user_agent: device.userAgent })
      .where('id', '=', resolved.sessionId)
      .execute()
      .catch((err) => s.log.warn({ err }, 'session activity update failed'));
  }
  return { userId: resolved.userId, sessionId: resolved.sessionId, isAdmin: resolved.isAdmin, ...device };
}

export async function logout(s: Services, actor: Actor): Promise<void> {
  await s.db.kysely.deleteFrom('sessions').where('id', '=', actor.sessionId).execute();
  announceRevoked(s, [actor.sessionId]);
}

export async function getCurrentSession(s: Services, actor: Actor): Promise<Session> {
  const row = await s.db.kysely.selectFrom('sessions').selectAll().where('id', '=', actor.sessionId).executeTakeFirst();
  if (!row) throw new AppError('unauthorized', 'The session was terminated');
  return toSession(row, actor.sessionId);
}

export async function listSessions(s: Services, actor: Actor): Promise<Session[]> {
  const rows = await s.db.kysely
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', actor.userId)
    .orderBy('last_seen_at', 'desc')
    .execute();
  return rows.map((r) => toSession(r, actor.sessionId));
}

/** Records in the user's log that these sessions ended, so the user's other devices hear of it. */
async function recordEnded(tx: Tx, out: Outbox, userId: string, sessionIds: string[], now: number): Promise<void> {
  for (const sessionId of sessionIds) await recordUserEvent(tx, out, userId, { type: 'session.terminated', sessionId }, now);
}

/** Terminates one session of the actor's own; someone else's is reported as missing. */
export async function terminateSession(s: Services, actor: Actor, sessionId: string): Promise<void> {
  if (sessionId === actor.sessionId) throw new AppError('invalid_request', 'Use logout to end the current session');
  const out = new Outbox();
  await s.db.transaction(async (tx) => {
    const deleted = await tx
      .deleteFrom('sessions')
      .where('id', '=', sessionId)
      .where('user_id', '=', actor.userId)
      .returning('id')
      .execute();
    if (deleted.length === 0) throw new AppError('not_found', `Session "${sessionId}" was not found`);
    await recordEnded(tx, out, actor.userId, [sessionId], s.now());
  });
  out.publish(s);
  announceRevoked(s, [sessionId]);
}

export async function terminateOtherSessions(s: Services, actor: Actor): Promise<number> {
  const ids = await terminateAllSessions(s, actor.userId, { keep: actor.sessionId, record: true });
  return ids.length;
}

export interface TerminateOptions {
  /** the session to leave alone */
  keep?: string;
  /** record the ends in the user's log (for the devices that stay); not worth it when none stays */
  record?: boolean;
  /**
   * Run inside this transaction: the caller then publishes `out` and announces the returned ids once it
   * has committed.
   */
  tx?: Tx;
  out?: Outbox;
}

/** Ends every session of a user except `keep`; used by password changes, disabling and deletion too. */
export async function terminateAllSessions(s: Services, userId: string, opts: TerminateOptions = {}): Promise<string[]> {
  const run = async (tx: Tx, out: Outbox) => {
    let q = tx.deleteFrom('sessions').where('user_id', '=', userId);
    if (opts.keep) q = q.where('id', '!=', opts.keep);
    const ids = (await q.returning('id').execute()).map((r) => r.id);
    if (opts.record) await recordEnded(tx, out, userId, ids, s.now());
    return ids;
  };
  if (opts.tx) return run(opts.tx, opts.out ?? new Outbox());
  const out = new Outbox();
  const ids = await s.db.transaction((tx) => run(tx, out));
  out.publish(s);
  announceRevoked(s, ids);
  return ids;
}
