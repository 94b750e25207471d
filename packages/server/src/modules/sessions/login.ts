import type { SessionTokens } from '@parley/protocol';
import type { DeviceInfo } from '../../lib/credentials.ts';
import { AppError } from '../../lib/errors.ts';
import { hashToken, newId } from '../../lib/ids.ts';
import { verifyNothing, verifyPassword } from '../../lib/passwords.ts';
import { failedWith, limitFailures, rateLimited, takePoint } from '../../lib/rate-limit.ts';
import { isUsername } from '../../lib/text.ts';
import type { Services } from '../services.ts';
import { commit, type Work } from '../sync/unit-of-work.ts';
import { endDevices } from '../devices/end-devices.ts';
import { recordEnded } from './end-sessions.ts';
import * as store from './sessions.store.ts';
import { issueTokens, tokenFields } from './tokens.ts';
import { tokensView } from './views.ts';

export interface LoginInput {
  username: string;
  password: string;
  deviceName: string;
  sessionId?: string;
}

/** Signs a device in: a new session, or the same one again when the device names a session it had. */
export async function login(s: Services, input: LoginInput, device: DeviceInfo): Promise<SessionTokens> {
  // PostgreSQL cannot store NUL in text: refused here rather than failing the insert.
  if (input.deviceName.includes('\u0000')) throw new AppError('invalid_request', 'The device name must not contain a NUL character');
  const username = input.username.trim().toLowerCase();
  const limited = await takePoint(s.limiters.login, `${username}|${device.ip}`);
  if (limited) throw rateLimited(limited, 'login attempts');

  // Wrong passwords from one address count across usernames, so one address cannot try a password on every account.
  const user = await limitFailures(
    { limiter: s.limiters.failedLogins, key: device.ip, what: 'failed sign-ins from this address', counts: failedWith('invalid_credentials') },
    async () => {
      const found = isUsername(username) ? await store.findLoginUser(s.db.kysely, username) : undefined;
      const ok = found?.password_hash ? await verifyPassword(found.password_hash, input.password) : await verifyNothing(input.password);
      if (!found || !ok) throw new AppError('invalid_credentials', 'The username or password is wrong');
      return found;
    },
  );
  if (user.disabled_at !== null) throw new AppError('account_disabled', 'This account is disabled');

  const t = issueTokens(s, s.now());
  const sessionId = await commit(s, async (work) => {
    const { tx, now } = work;
    await store.lockUser(tx, user.id);
    const fields = { device_name: input.deviceName, ...tokenFields(t, { now, ...device, prevRefreshHash: null }) };
    let sessionId: string | undefined;
    if (input.sessionId && (await store.reuseSession(tx, { sessionId: input.sessionId, userId: user.id, fields }))) sessionId = input.sessionId;
    if (!sessionId) {
      sessionId = newId();
      await store.insertSession(tx, { id: sessionId, user_id: user.id, created_at: now, ...fields });
    }
    await trimSessions(s, work, { userId: user.id, keep: sessionId });
    if (input.sessionId === sessionId) work.rotate(sessionId);
    return sessionId;
  });
  return tokensView(sessionId, user.id, t);
}

/** Past the per-user limit, the oldest sessions go (never the one just signed in). */
async function trimSessions(s: Services, work: Work, options: { userId: string; keep: string }): Promise<void> {
  const others = (await store.sessionIdsNewestFirst(work.tx, options.userId)).filter((id) => id !== options.keep);
  const excess = others.slice(s.config.sessions.max - 1);
  await store.deleteSessions(work.tx, excess);
  await recordEnded(work, options.userId, excess);
  await endDevices(work, excess);
  work.revoke(excess);
}

/** Rotates both tokens. A refresh token that was already rotated away revokes its session. */
export async function refresh(s: Services, refreshToken: string, device: DeviceInfo): Promise<SessionTokens> {
  const hash = hashToken(refreshToken);
  const t = issueTokens(s, s.now());
  const result = await commit(s, async (work) => {
    const { tx, now } = work;
    const session = await store.lockSessionByRefreshHash(tx, hash);
    if (!session) {
      const stolen = await store.deleteByPrevRefreshHash(tx, hash);
      for (const row of stolen) await recordEnded(work, row.user_id, [row.id]);
      await endDevices(
        work,
        stolen.map((r) => r.id),
      );
      work.revoke(stolen.map((r) => r.id));
      return { kind: stolen.length > 0 ? ('reused' as const) : ('invalid' as const) };
    }
    if (session.refresh_expires_at <= now || !(await store.userIsActive(tx, session.user_id))) {
      await store.deleteSessions(tx, [session.id]);
      await endDevices(work, [session.id]);
      work.revoke([session.id]);
      return { kind: 'invalid' as const };
    }
    await store.updateSessionTokens(tx, session.id, tokenFields(t, { now, ...device, prevRefreshHash: hash }));
    work.rotate(session.id);
    return { kind: 'ok' as const, sessionId: session.id, userId: session.user_id };
  });
  if (result.kind === 'reused') throw new AppError('refresh_token_reused', 'This refresh token was already used; the session is revoked');
  if (result.kind !== 'ok') throw new AppError('refresh_token_invalid', 'The refresh token is invalid or expired');
  return tokensView(result.sessionId, result.userId, t);
}
