import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLOSE, WS_PATH, WS_PROTOCOL } from '@parley/sdk';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { runParley } from './_cli.ts';
import { eventually, realtimeFor } from './_realtime.ts';
import { rawSocket, settle } from './_ws.ts';
import { stubbornSocket, type StubbornSocket } from './_stubborn-ws.ts';

/** Opens a socket and resolves with how it ended within 3 s: its close code (-1: still open), and whether the hello came first. */
function socketOutcome(t: Pick<TestServer, 'url'>, accessToken: string): Promise<{ code: number; hello: boolean }> {
  const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}${WS_PATH}`, [WS_PROTOCOL], { headers: { authorization: `Bearer ${accessToken}` } });
  let hello = false;
  ws.on('message', (data) => (hello ||= JSON.parse(data.toString()).type === 'hello'));
  ws.on('error', () => {});
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve({ code: -1, hello });
      ws.terminate();
    }, 3000);
    ws.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, hello });
    });
  });
}

/** How long after `since` the promise settled, or a rejection after `timeoutMs`. */
async function within<T>(what: string, p: Promise<T>, since: number, timeoutMs: number): Promise<{ value: T; ms: number }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs)));
  try {
    const value = await Promise.race([p, timeout]);
    return { value, ms: Date.now() - since };
  } finally {
    clearTimeout(timer);
  }
}

describe.each(await stores())('a session that ends closes its sockets at once on %s', (kind) => {
  let t: TestServer;
  let partner: TestUser;
  const env = { PARLEY_MAX_SESSIONS: '3', PARLEY_LOGIN_LIMIT: '1000/60s', PARLEY_MESSAGE_RATE: '1000/10s' };

  beforeAll(async () => {
    t = await startTestServer(kind, { ...env, PARLEY_WS_MAX_PER_USER: '4', PARLEY_WS_MAX_PER_SESSION: '2' });
    partner = await t.user('partner');
  });
  afterAll(async () => t?.close());

  /** A user, a private chat with the partner, and a socket of the user's first session whose client then refreshed its tokens. */
  async function refreshedVictim(name: string) {
    const u = await t.user(name);
    const chat = await u.client.createPrivateChat({ userId: partner.id });
    const stubborn = await stubbornSocket(t.url, u.session.accessToken);
    const polite = await rawSocket(t, u);
    // The socket now outlives the token it was opened with: it belongs to the session.
    await u.client.refresh();
    expect((await polite.request({ type: 'ping' })).type).toBe('pong');
    return { u, chat, stubborn, polite };
  }

  /** Keeps sending over a socket that ignores its close frame; resolves with how many of those frames were stored. */
  async function sendAfterEnd(stubborn: StubbornSocket, chatId: string, label: string): Promise<number> {
    for (let i = 0; i < 8 && stubborn.tcpClosedAt === null; i++) {
      stubborn.send({ type: 'send', id: `x${i}`, chatId, text: `${label}-${i}`, clientMessageId: `${label}-${i}` });
      await settle(150);
    }
    const { messages } = await partner.client.listMessages({ chatId });
    return messages.filter((m) => m.text?.startsWith(label)).length;
  }

  /** How a session ends; each prepares what it needs, then returns the call that ends it. */
  const endings: [string, (u: TestUser) => Promise<() => Promise<unknown>>][] = [
    [
      'terminated from another device',
      async (u) => {
        const other = t.client();
        await other.login({ username: u.username, password: u.password, deviceName: 'other' });
        return () => other.terminateSession({ sessionId: u.session.sessionId });
      },
    ],
    ['logged out', async (u) => () => u.client.logout()],
    [
      'ended by a password change on another device',
      async (u) => {
        const other = t.client();
        await other.login({ username: u.username, password: u.password, deviceName: 'other' });
        return () => other.changePassword({ currentPassword: u.password, newPassword: `${u.password}-new` });
      },
    ],
    [
      'evicted by the session limit',
      async (u) => async () => {
        for (let i = 0; i < 3; i++) await t.client().login({ username: u.username, password: u.password, deviceName: `more-${i}` });
      },
    ],
    [
      'revoked by a reused refresh token',
      async (u) => async () => {
        const err = await t
          .client()
          .refreshSession({ refreshToken: u.session.refreshToken })
          .catch((e) => e);
        expect(err).toMatchObject({ code: 'refresh_token_reused' });
      },
    ],
  ];

  it.each(endings)('when %s: 4001 at once, no frame of it runs afterwards, the connection is cut within 2 s', async (_how, prepare) => {
    const name = `v${Math.random().toString(36).slice(2, 8)}`;
    const { u, chat, stubborn, polite } = await refreshedVictim(name);
    const end = await prepare(u);
    const endedAt = Date.now();
    await end();
    const stored = await sendAfterEnd(stubborn, chat.id, `after-end-${name}`);
    expect(stored).toBe(0);
    expect(stubborn.closeCode).toBe(CLOSE.sessionEnded);
    expect((await within('the polite socket to close', polite.closed, endedAt, 1500)).value).toBe(CLOSE.sessionEnded);
    await eventually(() => stubborn.tcpClosedAt !== null, 2500, 'the server to cut the stubborn connection');
    expect(stubborn.tcpClosedAt! - endedAt).toBeLessThan(2500);
    // None of its requests was answered (the news of its own end may have reached it first).
    expect(stubborn.frames.filter((f) => f.id !== undefined)).toEqual([]);
  });

  it.each([
    ['user disable', (u: TestUser) => ['user', 'disable', u.username]],
    ['user reset-password', (u: TestUser) => ['user', 'reset-password', u.username]],
  ])('closes the sockets of a user the CLI ran %s for, while the server runs, within a second', async (_how, args) => {
    const name = `c${Math.random().toString(36).slice(2, 8)}`;
    const { u, chat, stubborn, polite } = await refreshedVictim(name);
    const cli = await runParley(args(u), { ...t.store.env, LOG_LEVEL: 'silent' });
    expect(cli.code).toBe(0);
    const doneAt = Date.now();
    const { value: code, ms } = await within('the socket to close after the CLI', polite.closed, doneAt, 1500);
    expect(code).toBe(CLOSE.sessionEnded);
    console.log(`${kind}: socket closed ${ms} ms after \`parley ${args(u).slice(0, 2).join(' ')}\` returned`);
    expect(await sendAfterEnd(stubborn, chat.id, `after-cli-${name}`)).toBe(0);
    expect(stubborn.closeCode).toBe(CLOSE.sessionEnded);
    await eventually(() => stubborn.tcpClosedAt !== null, 2500, 'the server to cut the stubborn connection');
  });

  it('caps sockets per session and per user with 4029, and lets one in again when another closes', async () => {
    const u = await t.user('many');
    const first = await rawSocket(t, u);
    await rawSocket(t, u);
    expect(await socketOutcome(t, u.session.accessToken)).toEqual({ code: CLOSE.tooManySockets, hello: false });

    const phone = t.client();
    const tokens = await phone.login({ username: u.username, password: u.password, deviceName: 'phone' });
    await rawSocket(t, { client: phone });
    await rawSocket(t, { client: phone });
    // Four for the user now: a third session gets none either.
    const tablet = t.client();
    const third = await tablet.login({ username: u.username, password: u.password, deviceName: 'tablet' });
    expect(await socketOutcome(t, third.accessToken)).toEqual({ code: CLOSE.tooManySockets, hello: false });
    expect(await socketOutcome(t, tokens.accessToken)).toEqual({ code: CLOSE.tooManySockets, hello: false });

    first.close();
    await first.closed;
    await settle(200);
    expect((await rawSocket(t, { client: tablet })).frames[0]).toMatchObject({ type: 'hello', sessionId: third.sessionId });
  });
});

describe.each(await stores())('an access token expiring under an open socket on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_ACCESS_TOKEN_TTL: '10', PARLEY_LOGIN_LIMIT: '1000/60s' });
  });
  afterAll(async () => t?.close());

  it('closes with 4002 the socket of a session nobody refreshed, keeps one whose client refreshed, and the SDK reconnects', async () => {
    const idle = await t.user('idle');
    const busy = await t.user('busy');
    const sdkUser = await t.user('sdkuser');
    const idleSocket = await rawSocket(t, idle);
    const busySocket = await rawSocket(t, busy);
    const { rt } = realtimeFor(sdkUser);
    await rt.connect();
    const expiresAt = Date.parse(idle.session.accessTokenExpiresAt);

    await settle(5000);
    await busy.client.refresh();
    const { value: code, ms } = await within('the idle socket to close', idleSocket.closed, Date.now(), expiresAt - Date.now() + 2000);
    expect(code).toBe(CLOSE.tokenExpired);
    console.log(`${kind}: socket of the expired token closed ${Date.now() - expiresAt} ms after the expiry (waited ${ms} ms)`);
    expect((await fetch(`${t.url}/api/v1/me`, { headers: { authorization: `Bearer ${idle.session.accessToken}` } })).status).toBe(401);

    // The session is alive and was refreshed: its socket outlives the token it was opened with.
    await settle(1500);
    expect(busySocket.ws.readyState).toBe(WebSocket.OPEN);
    expect((await busySocket.request({ type: 'ping' })).type).toBe('pong');

    // The SDK treats 4002 as a reason to refresh and reconnect, not as the end of the session.
    await eventually(() => rt.state === 'online' && Date.parse(sdkUser.client.session!.accessTokenExpiresAt) > expiresAt + 1000, 5000, 'the SDK to reconnect');
    const chat = await sdkUser.client.createPrivateChat({ userId: busy.id });
    expect((await rt.send({ chatId: chat.id, text: 'still here' }).acked).text).toBe('still here');
    rt.close();
  }, 40_000);
});
