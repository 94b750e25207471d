import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStore, startTestServer, stores, type TestServer } from './_harness.ts';
import { lines, runParley, spawnServe } from './_cli.ts';
import { createLogger } from '../src/logger.ts';

/** The operations the API had first; later ones are added to the document, none of these may go. */
const OPERATION_IDS = [
  'register',
  'login',
  'refreshSession',
  'getCurrentSession',
  'listSessions',
  'terminateSession',
  'terminateOtherSessions',
  'logout',
  'getMe',
  'updateMe',
  'changePassword',
  'deleteAccount',
  'getUserByUsername',
  'createInvite',
  'listInvites',
  'revokeInvite',
];
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Collects what a logger writes, line by line. */
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void) {
    this.text += chunk.toString();
    done();
  }
  records(): Record<string, any>[] {
    return lines(this.text).map((l) => JSON.parse(l));
  }
}

async function json(res: Response): Promise<any> {
  return JSON.parse(await res.text());
}

/** Polls `check` until it returns true or `ms` pass. */
async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(await stores())('operations on %s', (kind) => {
  let t: TestServer;
  const logs = new Capture();

  const post = (p: string, body: unknown, token?: string) =>
    fetch(`${t.url}${p}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const get = (p: string, token?: string) => fetch(`${t.url}${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const parley = (...args: string[]) => runParley(args, { ...t.store.env });

  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_LOGIN_LIMIT: '100/60s' }, { log: createLogger('info', logs) });
  });
  afterAll(async () => t?.close());

  it('answers /healthz, /readyz and /metrics', async () => {
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(await json(health)).toEqual({ status: 'ok' });

    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(await json(ready)).toMatchObject({ status: 'ready', store: 'up', bus: 'up' });

    const u = await t.user('metered');
    expect((await get('/api/v1/me', u.session.accessToken)).status).toBe(200);
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    expect(text).toContain('# TYPE parley_http_requests_total counter');
    expect(text).toMatch(/^parley_http_requests_total\{[^}]*operation="getMe"[^}]*status="200"[^}]*\} [1-9]/m);
    expect(text).toMatch(/^parley_http_requests_total\{[^}]*operation="login"[^}]*\} [1-9]/m);
  });

  it('publishes an OpenAPI 3.1 document in which every operation has an operationId', async () => {
    const res = await get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = await json(res);
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const ids: string[] = [];
    for (const [p, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const method of Object.keys(item).filter((k) => HTTP_METHODS.includes(k))) {
        const operationId = item[method].operationId;
        expect(operationId, `${method.toUpperCase()} ${p} has an operationId`).toMatch(/^[a-z][A-Za-z0-9]*$/);
        ids.push(operationId);
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of OPERATION_IDS) expect(ids).toContain(id);
  });

  it('sets security headers on API responses, errors included', async () => {
    const u = await t.user('headed');
    const responses = [
      await get('/api/v1/me', u.session.accessToken),
      await get('/api/v1/me'),
      await get('/api/v1/no-such-route'),
      await get('/api/v1/users/by-username/%E0%A4%A', u.session.accessToken),
      await post('/api/v1/auth/login', { nope: true }),
      await get('/api/v1/openapi.json'),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 400, 400, 200]);
    for (const res of responses) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-request-id')).toBeTruthy();
    }
  });

  it('never logs passwords, invite codes or tokens, and tags request lines with a request id', async () => {
    const code = await t.invite();
    const password = 'log-secret-password-93f1';
    const wrongPassword = 'log-wrong-password-5d2c';
    logs.text = '';

    const registered = await post('/api/v1/auth/register', { inviteCode: code, username: 'logged', password, displayName: 'Logged' });
    expect(registered.status).toBe(201);
    expect((await post('/api/v1/auth/login', { username: 'logged', password: wrongPassword, deviceName: 'd' })).status).toBe(401);
    const login = await json(await post('/api/v1/auth/login', { username: 'logged', password, deviceName: 'laptop' }));
    const me = await get('/api/v1/me', login.accessToken);
    expect(me.status).toBe(200);
    const refreshed = await json(await post('/api/v1/auth/refresh', { refreshToken: login.refreshToken }));
    expect(refreshed.accessToken).toBeTruthy();
    expect((await get('/api/v1/sessions', refreshed.accessToken)).status).toBe(200);
    expect((await post('/api/v1/me/password', { currentPassword: password, newPassword: `${password}-new` }, refreshed.accessToken)).status).toBe(204);
    const logout = await fetch(`${t.url}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${refreshed.accessToken}` } });
    expect(logout.status).toBe(204);
    // A rotated refresh token and a stale access token are refused, and must not be logged either.
    expect((await post('/api/v1/auth/refresh', { refreshToken: login.refreshToken })).status).toBe(401);
    expect((await get('/api/v1/me', login.accessToken)).status).toBe(401);

    const text = logs.text;
    const secrets = [password, `${password}-new`, wrongPassword, code, login.accessToken, login.refreshToken, refreshed.accessToken, refreshed.refreshToken];
    for (const secret of secrets) expect(text.includes(secret), `a secret of ${secret.length} characters is in the log`).toBe(false);

    const records = logs.records();
    const requestLines = records.filter((r) => r.req || r.res || /request/.test(r.msg ?? ''));
    // Two lines (incoming, completed) for each of the 10 requests above.
    expect(requestLines.length).toBeGreaterThanOrEqual(20);
    for (const r of requestLines) expect(r.requestId).toEqual(expect.any(String));
    const meId = me.headers.get('x-request-id');
    expect(requestLines.filter((r) => r.requestId === meId).length).toBeGreaterThanOrEqual(1);
  });

  it('creates an admin invite from the CLI, printing only its code', async () => {
    const created = await parley('invite', 'create', '--admin');
    expect(created.code).toBe(0);
    expect(lines(created.stdout)).toHaveLength(1);
    const code = created.stdout.trim();
    expect(created.stdout).toBe(`${code}\n`);
    expect(code).toMatch(/^[A-Za-z0-9_-]{16,}$/);

    const res = await post('/api/v1/auth/register', { inviteCode: code, username: 'root', password: 'root password', displayName: 'Root' });
    expect(res.status).toBe(201);
    expect(await json(res)).toMatchObject({ username: 'root', isAdmin: true });

    const plain = await parley('invite', 'create', '--uses', '3', '--expires', '1h');
    expect(plain.code).toBe(0);
    const plainCode = plain.stdout.trim();
    const listed = await parley('invite', 'list');
    expect(listed.code).toBe(0);
    const adminLine = lines(listed.stdout).find((l) => l.includes(`${code.slice(0, 4)}…`));
    expect(adminLine).toMatch(/uses 1\/1/);
    expect(adminLine).toContain('admin');
    const plainLine = lines(listed.stdout).find((l) => l.includes(`${plainCode.slice(0, 4)}…`));
    expect(plainLine).toMatch(/uses 0\/3/);
    expect(plainLine).not.toContain('admin');
    // The list never shows whole codes.
    expect(listed.stdout).not.toContain(code);
    expect(listed.stdout).not.toContain(plainCode);
    const user = await json(
      await post('/api/v1/auth/register', { inviteCode: plainCode, username: 'plain_user', password: 'plain password', displayName: 'P' }),
    );
    expect(user.isAdmin).toBe(false);

    const bad = await parley('invite', 'create', '--uses', 'many');
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('--uses');
  });

  it('lists and disables users from the CLI; a disabled user is signed out at once', async () => {
    const carol = await t.user('carol');
    const listed = await parley('user', 'list');
    expect(listed.code).toBe(0);
    expect(lines(listed.stdout).some((l) => l.startsWith('carol '))).toBe(true);

    // The token is in use (and cached) when the account is disabled from another process.
    expect((await get('/api/v1/me', carol.session.accessToken)).status).toBe(200);
    const disabled = await parley('user', 'disable', 'Carol');
    expect(disabled.code).toBe(0);
    expect(await eventually(async () => (await get('/api/v1/me', carol.session.accessToken)).status === 401, 3000)).toBe(true);
    const login = await post('/api/v1/auth/login', { username: 'carol', password: carol.password, deviceName: 'd' });
    expect(login.status).toBe(403);
    expect((await json(login)).error.code).toBe('account_disabled');
    expect((await post('/api/v1/auth/refresh', { refreshToken: carol.session.refreshToken })).status).toBe(401);
    expect(lines((await parley('user', 'list')).stdout).find((l) => l.startsWith('carol '))).toContain('disabled');

    const missing = await parley('user', 'disable', 'nobody_at_all');
    expect(missing.code).not.toBe(0);
    expect(missing.stdout).toBe('');
    expect(lines(missing.stderr)).toHaveLength(1);
    expect(missing.stderr).toContain('nobody_at_all');
  });

  it('resets a password from the CLI, printing one that signs in', async () => {
    const dave = await t.user('dave');
    expect((await get('/api/v1/me', dave.session.accessToken)).status).toBe(200);
    const reset = await parley('user', 'reset-password', 'dave');
    expect(reset.code).toBe(0);
    expect(lines(reset.stdout)).toHaveLength(1);
    const password = reset.stdout.trim();
    expect(password.length).toBeGreaterThanOrEqual(12);
    expect(password).not.toBe(dave.password);
    expect(await eventually(async () => (await get('/api/v1/me', dave.session.accessToken)).status === 401, 3000)).toBe(true);
    expect((await post('/api/v1/auth/login', { username: 'dave', password: dave.password, deviceName: 'd' })).status).toBe(401);
    const login = await post('/api/v1/auth/login', { username: 'dave', password, deviceName: 'd' });
    expect(login.status).toBe(200);
    expect((await get('/api/v1/me', (await json(login)).accessToken)).status).toBe(200);
  });

  it('migrates from the CLI', async () => {
    const current = await parley('migrate');
    expect(current.code).toBe(0);
    expect(current.stdout).toBe('The database is up to date\n');

    const store = await freshStore(kind);
    try {
      const first = await runParley(['migrate'], { ...store.env });
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/^Applied: 001_accounts\b/);
      expect(lines(first.stdout)).toHaveLength(1);
      const again = await runParley(['migrate'], { ...store.env });
      expect(again.stdout).toBe('The database is up to date\n');
      const created = await runParley(['invite', 'create'], { ...store.env });
      expect(created.code).toBe(0);
    } finally {
      await store.drop();
    }
  });
});

describe('the server process', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-ops-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['PORT', { PORT: 'abc' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
  ])('refuses to start with an invalid %s, in one line', async (name, env) => {
    const res = await runParley(['serve'], { PARLEY_DATA_DIR: path.join(dir, 'config'), ...env });
    expect(res.code).not.toBe(0);
    expect(res.code).not.toBeNull();
    expect(res.stdout).toBe('');
    const errors = lines(res.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(name);
    for (const other of ['PORT', 'DATABASE_URL'].filter((n) => n !== name)) expect(errors[0]).not.toContain(other);
  });

  it('stops on SIGTERM and exits with 0', async () => {
    const server = await spawnServe({ PORT: '0', HOST: '127.0.0.1', PARLEY_DATA_DIR: path.join(dir, 'serve'), LOG_LEVEL: 'warn' });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(server.url).not.toMatch(/:8080$/);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const started = Date.now();
      server.child.kill('SIGTERM');
      const exit = await Promise.race([server.exited, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
      expect(exit, `exited within 5 s; stderr: ${server.stderr()}`).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(5000);
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    } finally {
      server.kill();
    }
  });
});
