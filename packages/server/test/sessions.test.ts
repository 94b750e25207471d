import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient, ParleyError, type SessionTokens } from '@parley/sdk';
import type { SyncEvent } from '@parley/sdk';
import { startTestServer, stores, type TestServer } from './_harness.ts';
import { eventually, realtimeFor } from './_realtime.ts';

describe.each(await stores())('accounts and sessions on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_MAX_SESSIONS: '10', PARLEY_LOGIN_LIMIT: '100/60s' });
  });
  afterAll(async () => t?.close());

  describe('an admin signed in on two devices', () => {
    let me: Awaited<ReturnType<ParleyClient['register']>>;
    let laptop: ParleyClient;
    let phone: ParleyClient;
    let tokens: SessionTokens;
    let phoneTokens: SessionTokens;
    beforeAll(async () => {
      const code = await t.invite({ admin: true });
      laptop = t.client({ userAgent: 'laptop-agent' });
      me = await laptop.register({ inviteCode: code, username: 'Admin', password: 'correct horse', displayName: 'The Admin' });
      tokens = await laptop.login({ username: 'admin', password: 'correct horse', deviceName: 'Laptop' });
      phone = t.client({ userAgent: 'phone-agent' });
      phoneTokens = await phone.login({ username: 'ADMIN', password: 'correct horse', deviceName: 'Phone' });
    });

    it('is an admin from registering with an admin invite, under the username in lower case', () => {
      expect(me).toMatchObject({ username: 'admin', displayName: 'The Admin', isAdmin: true });
    });

    it('gets a session id and an opaque access token at login', () => {
      expect(tokens.sessionId).toBeTruthy();
      expect(tokens.accessToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('sees both devices, the current one marked, with their names, user agent and address', async () => {
      const { sessions } = await laptop.listSessions();
      expect(sessions).toHaveLength(2);
      const current = sessions.find((s) => s.current)!;
      expect(current).toMatchObject({ id: tokens.sessionId, deviceName: 'Laptop', userAgent: 'laptop-agent', ip: '127.0.0.1' });
      expect(sessions.find((s) => !s.current)).toMatchObject({ id: phoneTokens.sessionId, deviceName: 'Phone' });
    });

    it('signs the other device out by terminating its session', async () => {
      await laptop.terminateSession({ sessionId: phoneTokens.sessionId });
      const err = await phone.getMe().catch((e) => e);
      expect(err).toBeInstanceOf(ParleyError);
      expect(err.status).toBe(401);
      expect(phone.session).toBeNull();
      expect((await laptop.listSessions()).sessions).toHaveLength(1);
      expect(await laptop.getCurrentSession()).toMatchObject({ id: tokens.sessionId, current: true });
    });
  });

  it('rotates both tokens on refresh, keeping the session, and the old access token stops working', async () => {
    const u = await t.user('rotor');
    const first = u.session;
    await u.client.refreshSession({ refreshToken: first.refreshToken });
    const second = u.client.session!;
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    const stale = await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${first.accessToken}` } });
    expect(stale.status).toBe(401);
    expect(await u.client.getMe()).toMatchObject({ username: 'rotor' });
  });

  it('revokes the whole session when a rotated refresh token comes back', async () => {
    const u = await t.user('robbed');
    const first = u.session;
    await u.client.refreshSession({ refreshToken: first.refreshToken });
    const second = u.client.session!;
    const thief = t.client();
    const err = await thief.refreshSession({ refreshToken: first.refreshToken }).catch((e) => e);
    expect(err).toMatchObject({ status: 401, code: 'refresh_token_reused' });
    // The legitimate holder is out too.
    const res = await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${second.accessToken}` } });
    expect(res.status).toBe(401);
    const again = await t
      .client()
      .refreshSession({ refreshToken: second.refreshToken })
      .catch((e) => e);
    expect(again).toMatchObject({ status: 401, code: 'refresh_token_invalid' });
  });

  it('keeps the session when two tabs of it refresh at the same instant, sharing a lock and the stored tokens', async () => {
    const u = await t.user('tabs');
    // What two browser tabs share: the stored tokens, and a lock (navigator.locks in the web client).
    let stored: SessionTokens | null = u.session;
    let queue: Promise<unknown> = Promise.resolve();
    const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = queue.then(fn);
      queue = run.catch(() => {});
      return run;
    };
    const tab = () => new ParleyClient({ baseUrl: t.url, session: stored, onSession: (s) => (stored = s), exclusive, loadSession: () => stored });
    const [a, b] = [tab(), tab()];
    await Promise.all([a.refresh(), b.refresh()]);
    expect(a.session).toEqual(b.session);
    expect(a.session!.refreshToken).not.toBe(u.session.refreshToken);
    expect(await a.getMe()).toMatchObject({ username: 'tabs' });
    expect(await b.getMe()).toMatchObject({ username: 'tabs' });
  });

  it('ends the session when two tabs of it refresh at the same instant without a lock, one presenting a spent refresh token', async () => {
    const u = await t.user('locklesstabs');
    const [c, d] = [new ParleyClient({ baseUrl: t.url, session: u.session }), new ParleyClient({ baseUrl: t.url, session: u.session })];
    const outcomes = await Promise.allSettled([c.refresh(), d.refresh()]);
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(1);
    const winner = outcomes[0]!.status === 'fulfilled' ? c : d;
    expect(await winner.getMe().catch((e) => e)).toMatchObject({ status: 401 });
  });

  it('re-uses the session a device had when it logs in again with its id', async () => {
    const u = await t.user('returning');
    const again = await t.client().login({ username: 'returning', password: u.password, deviceName: 'Renamed', sessionId: u.session.sessionId });
    expect(again.sessionId).toBe(u.session.sessionId);
    const { sessions } = await u.client.listSessions().catch(async () => {
      const c = t.client();
      c.setSession(again);
      return c.listSessions();
    });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.deviceName).toBe('Renamed');
    // Someone else's session id is not taken over: a new session is made instead.
    const other = await t.user('other');
    const mine = await t.client().login({ username: 'other', password: other.password, deviceName: 'x', sessionId: u.session.sessionId });
    expect(mine.sessionId).not.toBe(u.session.sessionId);
  });

  it('terminates the oldest session at the 11th login', async () => {
    const u = await t.user('many');
    const ids = [u.session.sessionId];
    for (let i = 1; i < 10; i++) ids.push((await t.client().login({ username: 'many', password: u.password, deviceName: `d${i}` })).sessionId);
    const eleventh = t.client();
    await eleventh.login({ username: 'many', password: u.password, deviceName: 'd10' });
    const { sessions } = await eleventh.listSessions();
    expect(sessions).toHaveLength(10);
    expect(sessions.map((s) => s.id)).not.toContain(ids[0]);
    expect((await u.client.getMe().catch((e) => e)).status).toBe(401);
  });

  it('keeps at most 10 sessions when logins beyond the limit race', async () => {
    const u = await t.user('racer');
    await Promise.all(Array.from({ length: 15 }, (_, i) => t.client().login({ username: 'racer', password: u.password, deviceName: `r${i}` })));
    const latest = await t.client().login({ username: 'racer', password: u.password, deviceName: 'check' });
    const c = t.client();
    c.setSession(latest);
    expect((await c.listSessions()).sessions.length).toBe(10);
  });

  it('terminates all other sessions, and logout ends the current one', async () => {
    const u = await t.user('closer');
    const others = await Promise.all([1, 2, 3].map(() => t.client().login({ username: 'closer', password: u.password, deviceName: 'other' })));
    expect(await u.client.terminateOtherSessions()).toEqual({ terminated: 3 });
    for (const o of others) {
      const r = await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${o.accessToken}` } });
      expect(r.status).toBe(401);
    }
    const token = u.client.session!.accessToken;
    await u.client.logout();
    expect(u.client.session).toBeNull();
    const r = await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(401);
  });

  it('changes the password and ends the other sessions', async () => {
    const u = await t.user('changer');
    const other = t.client();
    await other.login({ username: 'changer', password: u.password, deviceName: 'other' });
    await u.client.changePassword({ currentPassword: u.password, newPassword: 'a brand new password' });
    expect((await other.getMe().catch((e) => e)).status).toBe(401);
    expect(await u.client.getMe()).toMatchObject({ username: 'changer' });
    expect(
      (
        await t
          .client()
          .login({ username: 'changer', password: u.password, deviceName: 'x' })
          .catch((e) => e)
      ).code,
    ).toBe('invalid_credentials');
    await t.client().login({ username: 'changer', password: 'a brand new password', deviceName: 'x' });
    const wrong = await u.client.changePassword({ currentPassword: 'not it at all', newPassword: 'whatever123' }).catch((e) => e);
    expect(wrong).toMatchObject({ status: 401, code: 'invalid_credentials' });
  });

  it('updates the profile and finds users by username', async () => {
    const u = await t.user('profiled');
    expect(await u.client.updateMe({ displayName: '  Pro Filed  ' })).toMatchObject({ displayName: 'Pro Filed' });
    const other = await t.user('looker');
    expect(await other.client.getUserByUsername({ username: 'PROFILED' })).toEqual({
      id: u.id,
      username: 'profiled',
      displayName: 'Pro Filed',
      deleted: false,
      avatarFileId: null,
    });
    expect(await other.client.getUser({ userId: u.id })).toMatchObject({ username: 'profiled' });
    expect((await other.client.getUserByUsername({ username: 'nobody_here' }).catch((e) => e)).status).toBe(404);
  });

  it('deletes an account with its sessions, invites and name', async () => {
    const u = await t.user('leaver');
    const other = await t.user('stayer');
    await u.client.createInvite({});
    const wrong = await u.client.deleteAccount({ password: 'wrong password' }).catch((e) => e);
    expect(wrong).toMatchObject({ status: 401, code: 'invalid_credentials' });
    const token = u.client.session!.accessToken;
    await u.client.deleteAccount({ password: u.password });
    expect((await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect(await other.client.getUser({ userId: u.id })).toEqual({
      id: u.id,
      username: null,
      displayName: 'Deleted account',
      deleted: true,
      avatarFileId: null,
    });
    expect((await other.client.getUserByUsername({ username: 'leaver' }).catch((e) => e)).status).toBe(404);
    expect(
      (
        await t
          .client()
          .login({ username: 'leaver', password: u.password, deviceName: 'x' })
          .catch((e) => e)
      ).code,
    ).toBe('invalid_credentials');
    const invites = await t.server.ctx.db.kysely.selectFrom('invites').select('id').where('created_by', '=', u.id).execute();
    expect(invites).toHaveLength(0);
  });

  it('lets users create, list and revoke invites up to the daily limit', async () => {
    const u = await t.user('inviter');
    const created = await u.client.createInvite({ maxUses: 2, expiresInSeconds: 3600 });
    expect(created.code).toBeTruthy();
    expect(created).toMatchObject({ maxUses: 2, uses: 0, admin: false, revokedAt: null });
    const friend = t.client();
    await friend.register({ inviteCode: created.code!, username: 'friend1', password: 'friend password', displayName: 'Friend' });
    const { invites } = await u.client.listInvites();
    expect(invites).toHaveLength(1);
    expect(invites[0]).toMatchObject({ id: created.id, uses: 1, codeHint: created.code!.slice(0, 4) });
    expect(invites[0]!.code).toBeUndefined();
    await u.client.revokeInvite({ inviteId: created.id });
    const late = await t
      .client()
      .register({ inviteCode: created.code!, username: 'friend2', password: 'friend password', displayName: 'F' })
      .catch((e) => e);
    expect(late).toMatchObject({ status: 400, code: 'invite_revoked' });
    for (let i = 1; i < 10; i++) await u.client.createInvite({});
    const over = await u.client.createInvite({}).catch((e) => e);
    expect(over).toMatchObject({ status: 429, code: 'invite_limit_reached' });
    const other = await t.user('stranger');
    expect((await other.client.revokeInvite({ inviteId: created.id }).catch((e) => e)).status).toBe(404);
  });

  it("tells the user's other devices live and in the log when a session ends, and closes its socket", async () => {
    const u = await t.user('tracked', { device: 'laptop' });
    const phone = t.client();
    const phoneTokens = await phone.login({ username: 'tracked', password: u.password, deviceName: 'phone' });
    const tablet = t.client();
    const tabletTokens = await tablet.login({ username: 'tracked', password: u.password, deviceName: 'tablet' });
    const laptop = realtimeFor(u);
    const phoneRt = realtimeFor({ ...u, client: phone, session: phoneTokens });
    await laptop.rt.connect();
    await phoneRt.rt.connect();
    const ended = (events: SyncEvent[]) =>
      events.filter((e) => e.log === 'user' && e.type === 'session.terminated').map((e) => (e as { sessionId?: string }).sessionId);

    await u.client.terminateSession({ sessionId: phoneTokens.sessionId });
    await eventually(() => ended(laptop.events).includes(phoneTokens.sessionId), 5000, 'the laptop to hear the phone session ended');
    await eventually(() => phoneRt.rt.state === 'ended', 5000, 'the phone socket to be closed for good');

    await u.client.terminateOtherSessions();
    await eventually(() => ended(laptop.events).includes(tabletTokens.sessionId), 5000, 'the laptop to hear the tablet session ended');
    // A device that was offline reads the same from its log.
    const changes = await u.client.getChanges({ userSeq: 0 });
    expect(ended(changes.events)).toEqual([phoneTokens.sessionId, tabletTokens.sessionId]);
    laptop.rt.close();
    phoneRt.rt.close();
  });
});
