import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { disableUser } from '../src/modules/accounts/accounts.ts';
import { hashToken } from '../src/lib/ids.ts';

interface Res {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

interface CallOptions {
  /** sent as JSON with content-type application/json */
  json?: unknown;
  /** sent as is; set the content-type yourself */
  raw?: string;
  token?: string;
  headers?: Record<string, string>;
}

/** Expects the one error shape, with this status and code, and a message that reads as a sentence. */
function expectError(res: Res, status: number, code: string): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: { code } } });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(Object.keys(res.body.error).sort()).toEqual(['code', 'message']);
  const message: string = res.body.error.message;
  expect(typeof message).toBe('string');
  expect(message).toMatch(/^[A-Z]/);
  expect(message).not.toMatch(/\.$/);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.each(await stores())('bad input on %s', (kind) => {
  let t: TestServer;
  // The server's clock: real time plus an offset the tests move forward.
  let offset = 0;

  async function call(method: string, path: string, options: CallOptions = {}): Promise<Res> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined = options.raw;
    if (options.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.json);
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const res = await fetch(`${t.url}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      // left undefined: the assertions on the body then fail with the text in view
    }
    return { status: res.status, headers: res.headers, body: parsed ?? text, text };
  }

  async function count(table: 'users' | 'sessions' | 'invites'): Promise<number> {
    const row = await t.server.ctx.db.kysely
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async function inviteUses(code: string): Promise<number> {
    const row = await t.server.ctx.db.kysely.selectFrom('invites').select('uses').where('code_hash', '=', hashToken(code)).executeTakeFirstOrThrow();
    return row.uses;
  }

  const registration = (inviteCode: string, username: string, extra: Record<string, unknown> = {}) => ({
    inviteCode,
    username,
    password: 'a good password',
    displayName: 'Someone',
    ...extra,
  });

  beforeAll(async () => {
    t = await startTestServer(kind, {}, { now: () => Date.now() + offset });
  });
  afterAll(async () => t?.close());

  describe('malformed requests', () => {
    it('rejects a body that is not JSON, and writes nothing', async () => {
      const users = await count('users');
      const code = await t.invite();
      for (const raw of ['{"inviteCode": "x",', "{'username': 'x'}", 'not json at all', '{"a":1}}']) {
        const res = await call('POST', '/api/v1/auth/register', { raw, headers: { 'content-type': 'application/json' } });
        expectError(res, 400, 'invalid_json');
      }
      // An empty body that claims to be JSON.
      expectError(await call('POST', '/api/v1/auth/login', { raw: '', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
      // Prototype poisoning is refused, not merged.
      const poisoned = `{"inviteCode":"${code}","username":"poison","password":"a good password","displayName":"P","__proto__":{"isAdmin":true}}`;
      const res = await call('POST', '/api/v1/auth/register', { raw: poisoned, headers: { 'content-type': 'application/json' } });
      expectError(res, 400, 'invalid_json');
      // Deep nesting is a 4xx, not a crash; past the small body limit of operations without a session, a 413.
      const deep = `${'['.repeat(8000)}${']'.repeat(8000)}`;
      const nested = await call('POST', '/api/v1/auth/register', { raw: deep, headers: { 'content-type': 'application/json' } });
      expectError(nested, 400, 'invalid_request');
      const deeper = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
      const huge = await call('POST', '/api/v1/auth/register', { raw: deeper, headers: { 'content-type': 'application/json' } });
      expectError(huge, 413, 'body_too_large');
      expect(await count('users')).toBe(users);
      expect(await inviteUses(code)).toBe(0);
    });

    it('rejects wrong types instead of coercing them', async () => {
      const users = await count('users');
      const code = await t.invite();
      const res = await call('POST', '/api/v1/auth/register', { json: registration(code, 123 as any) });
      expectError(res, 400, 'invalid_request');
      expect(res.body.error.message).toContain('username');
      for (const bad of [{ password: 12345678 }, { displayName: ['x'] }, { inviteCode: null }, { displayName: true }]) {
        expectError(await call('POST', '/api/v1/auth/register', { json: registration(code, 'typed', bad) }), 400, 'invalid_request');
      }
      // A body that is JSON but not an object.
      for (const json of [null, [], 'alice', 42]) {
        expectError(await call('POST', '/api/v1/auth/register', { json }), 400, 'invalid_request');
      }
      expect(await count('users')).toBe(users);
      expect(await inviteUses(code)).toBe(0);

      const u = await t.user('typist');
      // "2" is not 2, and "true" is not a number of seconds.
      const invites = await count('invites');
      expectError(await call('POST', '/api/v1/invites', { token: u.session.accessToken, json: { maxUses: '2' } }), 400, 'invalid_request');
      expectError(await call('POST', '/api/v1/invites', { token: u.session.accessToken, json: { maxUses: 1.5 } }), 400, 'invalid_request');
      expectError(await call('POST', '/api/v1/invites', { token: u.session.accessToken, json: { expiresInSeconds: true } }), 400, 'invalid_request');
      expect(await count('invites')).toBe(invites);
      expectError(await call('POST', '/api/v1/auth/login', { json: { username: 'typist', password: 12345678, deviceName: 'd' } }), 400, 'invalid_request');
      expectError(await call('PATCH', '/api/v1/me', { token: u.session.accessToken, json: { displayName: 5 } }), 400, 'invalid_request');
      expect((await call('GET', '/api/v1/me', { token: u.session.accessToken })).body.displayName).toBe('Typist');
    });

    it('rejects missing fields, and a missing body', async () => {
      const users = await count('users');
      const code = await t.invite();
      for (const field of ['inviteCode', 'username', 'password', 'displayName']) {
        const body: Record<string, unknown> = registration(code, 'missing');
        delete body[field];
        const res = await call('POST', '/api/v1/auth/register', { json: body });
        expectError(res, 400, 'invalid_request');
        expect(res.body.error.message).toContain(field);
      }
      expectError(await call('POST', '/api/v1/auth/register'), 400, 'invalid_request');
      expectError(await call('POST', '/api/v1/auth/login', { json: {} }), 400, 'invalid_request');
      expectError(await call('POST', '/api/v1/auth/refresh', { json: {} }), 400, 'invalid_request');
      expect(await count('users')).toBe(users);
      expect(await inviteUses(code)).toBe(0);
    });

    it('rejects unknown extra fields', async () => {
      const users = await count('users');
      const code = await t.invite();
      const res = await call('POST', '/api/v1/auth/register', { json: registration(code, 'sneaky', { isAdmin: true }) });
      expectError(res, 400, 'invalid_request');
      expect(res.body.error.message).toContain('isAdmin');
      expect(await count('users')).toBe(users);
      expect(await inviteUses(code)).toBe(0);

      const u = await t.user('extra');
      const patch = await call('PATCH', '/api/v1/me', { token: u.session.accessToken, json: { displayName: 'New', isAdmin: true } });
      expectError(patch, 400, 'invalid_request');
      const me = await call('GET', '/api/v1/me', { token: u.session.accessToken });
      expect(me.body).toMatchObject({ displayName: 'Extra', isAdmin: false });
      expectError(
        await call('POST', '/api/v1/auth/login', { json: { username: 'extra', password: u.password, deviceName: 'd', admin: true } }),
        400,
        'invalid_request',
      );
    });

    it('rejects over-long strings and accepts the longest allowed ones', async () => {
      const users = await count('users');
      const code = await t.invite({ uses: 2 });
      const cases = [
        registration(code, 'u'.repeat(33)),
        registration(code, 'longname', { displayName: 'd'.repeat(65) }),
        registration(code, 'longname', { displayName: '😀'.repeat(65) }),
        registration(code, 'longname', { password: 'p'.repeat(257) }),
        registration('c'.repeat(129), 'longname'),
      ];
      for (const body of cases) expectError(await call('POST', '/api/v1/auth/register', { json: body }), 400, 'invalid_request');
      expect(await count('users')).toBe(users);
      expect(await inviteUses(code)).toBe(0);

      const longest = await call('POST', '/api/v1/auth/register', {
        json: registration(code, 'u'.repeat(32), { displayName: '😀'.repeat(64), password: 'p'.repeat(256) }),
      });
      expect(longest.status).toBe(201);
      const login = await call('POST', '/api/v1/auth/login', { json: { username: 'u'.repeat(32), password: 'p'.repeat(256), deviceName: 'd'.repeat(64) } });
      expect(login.status).toBe(200);
      expectError(
        await call('POST', '/api/v1/auth/login', { json: { username: 'u'.repeat(32), password: 'p'.repeat(256), deviceName: 'd'.repeat(65) } }),
        400,
        'invalid_request',
      );
    });

    it('refuses a body over 1 MiB with 413', async () => {
      const users = await count('users');
      const code = await t.invite();
      const huge = JSON.stringify(registration(code, 'huge', { displayName: 'x'.repeat(1024 * 1024) }));
      expectError(await call('POST', '/api/v1/auth/register', { raw: huge, headers: { 'content-type': 'application/json' } }), 413, 'body_too_large');
      // Streamed without a Content-Length, it is cut off all the same.
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 2 * 1024 * 1024) return controller.close();
          sent += chunk.length;
          controller.enqueue(chunk);
        },
      });
      const res = await fetch(`${t.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      const text = await res.text();
      expectError({ status: res.status, headers: res.headers, body: JSON.parse(text), text }, 413, 'body_too_large');
      expect(await count('users')).toBe(users);
      expect(await inviteUses(code)).toBe(0);
    });

    it('refuses bodies that are not JSON with 415', async () => {
      const users = await count('users');
      const code = await t.invite();
      const json = JSON.stringify(registration(code, 'plain'));
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/jsonp']) {
        const res = await call('POST', '/api/v1/auth/register', { raw: json, headers: { 'content-type': type } });
        expectError(res, 415, 'unsupported_media_type');
      }
      expect(await count('users')).toBe(users);
      expect(await inviteUses(code)).toBe(0);
      // The charset parameter is fine.
      const ok = await call('POST', '/api/v1/auth/register', { raw: json, headers: { 'content-type': 'application/json; charset=utf-8' } });
      expect(ok.status).toBe(201);
    });

    it('refuses a body sent to an operation that takes none, without acting on it', async () => {
      const u = await t.user('bodiless');
      const other = await call('POST', '/api/v1/auth/login', { json: { username: 'bodiless', password: u.password, deviceName: 'other' } });
      expect(other.status).toBe(200);
      const sessions = await count('sessions');
      const logout = await call('POST', '/api/v1/auth/logout', { token: u.session.accessToken, json: { everywhere: true } });
      expectError(logout, 400, 'invalid_request');
      const terminate = await call('POST', '/api/v1/sessions/terminate-others', { token: u.session.accessToken, json: { keep: 'x' } });
      expectError(terminate, 400, 'invalid_request');
      const plain = await call('POST', '/api/v1/auth/logout', { token: u.session.accessToken, raw: 'bye', headers: { 'content-type': 'text/plain' } });
      expect([400, 415]).toContain(plain.status);
      expectError(plain, plain.status, plain.status === 415 ? 'unsupported_media_type' : 'invalid_request');
      expect(await count('sessions')).toBe(sessions);
      expect((await call('GET', '/api/v1/me', { token: u.session.accessToken })).status).toBe(200);
      expect((await call('GET', '/api/v1/me', { token: other.body.accessToken })).status).toBe(200);
    });

    it('accepts an empty body labelled JSON for an operation that takes no body', async () => {
      const u = await t.user('emptyjson');
      const json = { 'content-type': 'application/json' };
      const other = await call('POST', '/api/v1/auth/login', { json: { username: 'emptyjson', password: u.password, deviceName: 'other' } });
      expect(other.status).toBe(200);
      const terminate = await call('POST', '/api/v1/sessions/terminate-others', { token: u.session.accessToken, raw: '', headers: json });
      expect(terminate.status).toBeLessThan(300);
      expect((await call('GET', '/api/v1/me', { token: other.body.accessToken })).status).toBe(401);
      const logout = await call('POST', '/api/v1/auth/logout', { token: u.session.accessToken, raw: '', headers: json });
      expect(logout.status).toBe(204);
      expect((await call('GET', '/api/v1/me', { token: u.session.accessToken })).status).toBe(401);
      // An operation that takes a body still refuses an empty one (see above), and JSON that is not empty is still parsed.
      expectError(await call('POST', '/api/v1/auth/login', { raw: '', headers: json }), 400, 'invalid_json');
    });

    it('answers unknown routes and malformed URLs with the JSON error shape', async () => {
      expectError(await call('GET', '/api/v1/nope'), 404, 'not_found');
      expectError(await call('GET', '/definitely/not/here'), 404, 'not_found');
      expectError(await call('POST', '/api/v1/nope', { json: { a: 1 } }), 404, 'not_found');
      expectError(await call('PUT', '/api/v1/me'), 404, 'not_found');
      const u = await t.user('urls');
      expectError(await call('GET', '/api/v1/users/by-username/%E0%A4%A', { token: u.session.accessToken }), 400, 'invalid_request');
      expectError(await call('DELETE', '/api/v1/sessions/not%20an%20id!', { token: u.session.accessToken }), 400, 'invalid_request');
      expectError(await call('GET', `/api/v1/users/by-username/${'a'.repeat(300)}`, { token: u.session.accessToken }), 400, 'invalid_request');
    });
  });

  describe('registration', () => {
    it('refuses an unknown invite', async () => {
      const users = await count('users');
      expectError(await call('POST', '/api/v1/auth/register', { json: registration('no-such-invite-code', 'nobody') }), 400, 'invite_invalid');
      expect(await count('users')).toBe(users);
    });

    it('refuses an expired invite', async () => {
      const code = await t.invite({ expiresInSeconds: 60 });
      offset += 61_000;
      const users = await count('users');
      expectError(await call('POST', '/api/v1/auth/register', { json: registration(code, 'late') }), 400, 'invite_expired');
      expect(await count('users')).toBe(users);
      expect(await inviteUses(code)).toBe(0);
    });

    it('refuses a revoked invite', async () => {
      const u = await t.user('revoker');
      const created = await call('POST', '/api/v1/invites', { token: u.session.accessToken, json: { maxUses: 5 } });
      expect(created.status).toBe(201);
      expect((await call('DELETE', `/api/v1/invites/${created.body.id}`, { token: u.session.accessToken })).status).toBe(204);
      const users = await count('users');
      expectError(await call('POST', '/api/v1/auth/register', { json: registration(created.body.code, 'revoked') }), 400, 'invite_revoked');
      expect(await count('users')).toBe(users);
      expect(await inviteUses(created.body.code)).toBe(0);
    });

    it('refuses a used-up invite', async () => {
      const code = await t.invite({ uses: 2 });
      expect((await call('POST', '/api/v1/auth/register', { json: registration(code, 'first_of_two') })).status).toBe(201);
      expect((await call('POST', '/api/v1/auth/register', { json: registration(code, 'second_of_two') })).status).toBe(201);
      const users = await count('users');
      expectError(await call('POST', '/api/v1/auth/register', { json: registration(code, 'third_of_two') }), 400, 'invite_used_up');
      expect(await count('users')).toBe(users);
      expect(await inviteUses(code)).toBe(2);
    });

    it('refuses an invite whose creator was disabled since', async () => {
      const u = await t.user('fallen');
      const created = await call('POST', '/api/v1/invites', { token: u.session.accessToken, json: {} });
      expect(created.status).toBe(201);
      await disableUser(t.server.ctx, u.id);
      const users = await count('users');
      expectError(await call('POST', '/api/v1/auth/register', { json: registration(created.body.code, 'orphan') }), 400, 'invite_invalid');
      expect(await count('users')).toBe(users);
      expect(await inviteUses(created.body.code)).toBe(0);
    });

    it('refuses a taken username in another letter case without using up the invite', async () => {
      expect((await call('POST', '/api/v1/auth/register', { json: registration(await t.invite(), 'Dupe') })).status).toBe(201);
      const code = await t.invite();
      const users = await count('users');
      const res = await call('POST', '/api/v1/auth/register', { json: registration(code, 'dUPE') });
      expectError(res, 409, 'username_taken');
      expect(await count('users')).toBe(users);
      expect(await inviteUses(code)).toBe(0);
      // The invite is still good for someone else.
      expect((await call('POST', '/api/v1/auth/register', { json: registration(code, 'not_a_dupe') })).status).toBe(201);
      expect(await inviteUses(code)).toBe(1);
    });

    it('lets exactly one of many racing registrations use a single-use invite', async () => {
      const code = await t.invite();
      const users = await count('users');
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => call('POST', '/api/v1/auth/register', { json: registration(code, `racer_${i}`) })));
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 201)) expectError(r, 400, 'invite_used_up');
      expect(await count('users')).toBe(users + 1);
      expect(await inviteUses(code)).toBe(1);

      const multi = await t.invite({ uses: 3 });
      const more = await Promise.all(Array.from({ length: 8 }, (_, i) => call('POST', '/api/v1/auth/register', { json: registration(multi, `multi_${i}`) })));
      expect(more.filter((r) => r.status === 201)).toHaveLength(3);
      expect(await count('users')).toBe(users + 4);
      expect(await inviteUses(multi)).toBe(3);
    });
  });

  describe('login', () => {
    it('answers a wrong password and an unknown user alike, in similar time', async () => {
      const u = await t.user('timed');
      const attempt = async (username: string) => {
        const started = performance.now();
        const res = await call('POST', '/api/v1/auth/login', { json: { username, password: 'not the password', deviceName: 'd' } });
        return { res, ms: performance.now() - started };
      };
      // Warm both paths up once, then alternate so drift affects both alike.
      await attempt('ghost_warmup');
      const wrong: number[] = [];
      const unknown: number[] = [];
      const bodies: any[] = [];
      for (let i = 0; i < 5; i++) {
        const a = await attempt(u.username);
        const b = await attempt(`ghost_${i}`);
        expectError(a.res, 401, 'invalid_credentials');
        expectError(b.res, 401, 'invalid_credentials');
        bodies.push(a.res.body, b.res.body);
        wrong.push(a.ms);
        unknown.push(b.ms);
      }
      for (const body of bodies) expect(body).toEqual(bodies[0]);
      const ratio = median(wrong) / median(unknown);
      expect(ratio).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    });

    it('limits logins to 10 a minute for one username from one address', async () => {
      const u = await t.user('limited');
      // t.user signed in once already.
      for (let i = 1; i < 10; i++) {
        const res = await call('POST', '/api/v1/auth/login', { json: { username: 'limited', password: 'wrong password', deviceName: 'd' } });
        expectError(res, 401, 'invalid_credentials');
      }
      const sessions = await count('sessions');
      for (const password of ['wrong password', u.password]) {
        const res = await call('POST', '/api/v1/auth/login', { json: { username: 'LIMITED', password, deviceName: 'd' } });
        expectError(res, 429, 'rate_limited');
        const retryAfter = Number(res.headers.get('retry-after'));
        expect(Number.isInteger(retryAfter)).toBe(true);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
      }
      expect(await count('sessions')).toBe(sessions);
      // Other usernames are not affected.
      const other = await t.user('unlimited');
      const ok = await call('POST', '/api/v1/auth/login', { json: { username: 'unlimited', password: other.password, deviceName: 'd' } });
      expect(ok.status).toBe(200);
    });
  });

  describe('tokens and sessions', () => {
    it('refuses an expired access token, and refresh still works', async () => {
      const u = await t.user('expiring');
      const token = u.session.accessToken;
      expect((await call('GET', '/api/v1/me', { token })).status).toBe(200);
      offset += t.server.ctx.config.sessions.accessTtlMs + 1000;
      expectError(await call('GET', '/api/v1/me', { token }), 401, 'unauthorized');
      const refreshed = await call('POST', '/api/v1/auth/refresh', { json: { refreshToken: u.session.refreshToken } });
      expect(refreshed.status).toBe(200);
      expect((await call('GET', '/api/v1/me', { token: refreshed.body.accessToken })).status).toBe(200);
      expectError(await call('GET', '/api/v1/me', { token }), 401, 'unauthorized');
    });

    it('refuses the token of a terminated session', async () => {
      const u = await t.user('ended');
      const phone = await call('POST', '/api/v1/auth/login', { json: { username: 'ended', password: u.password, deviceName: 'phone' } });
      expect((await call('GET', '/api/v1/me', { token: phone.body.accessToken })).status).toBe(200);
      expect((await call('DELETE', `/api/v1/sessions/${phone.body.sessionId}`, { token: u.session.accessToken })).status).toBe(204);
      expectError(await call('GET', '/api/v1/me', { token: phone.body.accessToken }), 401, 'unauthorized');
      expectError(await call('POST', '/api/v1/auth/refresh', { json: { refreshToken: phone.body.refreshToken } }), 401, 'refresh_token_invalid');
      expect((await call('POST', '/api/v1/auth/logout', { token: u.session.accessToken })).status).toBe(204);
      expectError(await call('GET', '/api/v1/me', { token: u.session.accessToken }), 401, 'unauthorized');
      expectError(await call('GET', '/api/v1/me', { token: 'x'.repeat(43) }), 401, 'unauthorized');
      expectError(await call('GET', '/api/v1/me', { headers: { authorization: 'Basic abc' } }), 401, 'unauthorized');
    });

    it('revokes the session when a rotated refresh token comes back', async () => {
      const u = await t.user('robbed');
      const first = await call('POST', '/api/v1/auth/refresh', { json: { refreshToken: u.session.refreshToken } });
      expect(first.status).toBe(200);
      expect((await call('GET', '/api/v1/me', { token: first.body.accessToken })).status).toBe(200);
      const reused = await call('POST', '/api/v1/auth/refresh', { json: { refreshToken: u.session.refreshToken } });
      expectError(reused, 401, 'refresh_token_reused');
      expectError(await call('GET', '/api/v1/me', { token: first.body.accessToken }), 401, 'unauthorized');
      expectError(await call('POST', '/api/v1/auth/refresh', { json: { refreshToken: first.body.refreshToken } }), 401, 'refresh_token_invalid');
      const left = await t.server.ctx.db.kysely.selectFrom('sessions').select('id').where('user_id', '=', u.id).execute();
      expect(left).toHaveLength(0);
    });

    it("answers 404 to someone terminating another user's session, which keeps working", async () => {
      const victim: TestUser = await t.user('victim');
      const attacker = await t.user('attacker');
      const res = await call('DELETE', `/api/v1/sessions/${victim.session.sessionId}`, { token: attacker.session.accessToken });
      expectError(res, 404, 'not_found');
      // Same answer as for a session that does not exist at all.
      const missing = await call('DELETE', '/api/v1/sessions/00000000-0000-0000-0000-000000000000', { token: attacker.session.accessToken });
      expectError(missing, 404, 'not_found');
      expect((await call('GET', '/api/v1/me', { token: victim.session.accessToken })).body.username).toBe('victim');
      const listed = await call('GET', '/api/v1/sessions', { token: victim.session.accessToken });
      expect(listed.body.sessions.map((s: { id: string }) => s.id)).toContain(victim.session.sessionId);
    });
  });

  it('is still up after all of that', async () => {
    const res = await call('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect((await call('GET', '/readyz')).status).toBe(200);
  });
});
