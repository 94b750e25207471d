import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyError } from '@parley/sdk';
import { runParley } from './_cli.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

async function errorOf(call: Promise<unknown>): Promise<ParleyError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ParleyError);
  return err as ParleyError;
}

describe.each(await stores())('names that cannot mislead (%s)', (kind) => {
  let t: TestServer;
  let alice: TestUser;
  let groupId: string;

  beforeAll(async () => {
    t = await startTestServer(kind);
    alice = await t.user('alice');
    groupId = (await alice.client.createGroup({ title: 'Team' })).id;
  });
  afterAll(() => t.close());

  it('a display name with a bidi override or only invisible characters is a 400 and leaves the name as it was', async () => {
    for (const name of ['moc.\u202eevil\u202c', '\u2067admin\u2069', '\u200b', '\u3164', 'a\u0000b']) {
      const err = await errorOf(alice.client.updateMe({ displayName: name }));
      expect(err.status).toBe(400);
      expect(err.code).toBe('invalid_request');
    }
    expect((await alice.client.getMe()).displayName).toBe('Alice');
  });

  it('a group title with a bidi override or only invisible characters is a 400, at creation and on rename', async () => {
    for (const title of ['\u202eevil', '\u200b\u200b', 'x\u0000']) {
      expect((await errorOf(alice.client.createGroup({ title }))).status).toBe(400);
      expect((await errorOf(alice.client.updateChat({ chatId: groupId, title }))).status).toBe(400);
    }
    expect((await alice.client.getChat({ chatId: groupId })).title).toBe('Team');
  });

  it('a message with NUL or a lone surrogate is a 400, never a 500, and stores nothing', async () => {
    for (const text of ['a\u0000b', 'x\ud800']) {
      const err = await errorOf(alice.client.sendMessage({ chatId: groupId, text, clientMessageId: `bad-${text.length}-${text.charCodeAt(1)}` }));
      expect(err.status).toBe(400);
    }
    expect((await alice.client.listMessages({ chatId: groupId })).messages).toHaveLength(0);
  });

  it('a right password with a device name holding NUL, or a username holding NUL, is a 4xx and signs nothing in', async () => {
    const before = (await alice.client.listSessions()).sessions.length;
    const device = await errorOf(t.client().login({ username: alice.username, password: alice.password, deviceName: 'phone\u0000' }));
    expect({ status: device.status, code: device.code }).toEqual({ status: 400, code: 'invalid_request' });
    const user = await errorOf(t.client().login({ username: 'ali\u0000ce', password: alice.password, deviceName: 'phone' }));
    expect(user.status).toBe(401);
    expect((await alice.client.listSessions()).sessions).toHaveLength(before);
  });

  it('names in every script and emoji joined by U+200D are kept as written', async () => {
    expect((await alice.client.updateMe({ displayName: 'Алиса 👩\u200d💻' })).displayName).toBe('Алиса 👩\u200d💻');
  });
});

describe('the SQLite files are owner-only', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-perm-'));
    // A data directory made by the operator or a package, readable by everyone.
    chmodSync(dir, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the database, its -wal and its -shm are 0600 even in a directory that is 0755, and the directory is reported', async () => {
    const result = await runParley(['migrate'], { PARLEY_DATA_DIR: dir, LOG_LEVEL: 'info' });
    expect(result.code).toBe(0);
    const file = path.join(dir, 'parley.sqlite');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    for (const side of ['-wal', '-shm']) if (existsSync(file + side)) expect(statSync(file + side).mode & 0o777).toBe(0o600);
    expect(result.stdout + result.stderr).toMatch(/open to other users/);
  });

  it('an existing world-readable database file is made owner-only when it is opened again', async () => {
    const file = path.join(dir, 'parley.sqlite');
    chmodSync(file, 0o644);
    const result = await runParley(['migrate'], { PARLEY_DATA_DIR: dir });
    expect(result.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
