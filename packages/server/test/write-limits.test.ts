import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

/** The error a call fails with, as status and code. */
async function failure(call: Promise<unknown>): Promise<{ status: number; code: string; retryAfter?: number }> {
  try {
    await call;
  } catch (err) {
    const e = err as { status: number; code: string; retryAfter?: number };
    return { status: e.status, code: e.code, retryAfter: e.retryAfter };
  }
  throw new Error('the call succeeded');
}

async function postJson(t: TestServer, path: string, body: object): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${t.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json().catch(() => null)) as { error?: { code: string } } | null;
  return { status: res.status, code: json?.error?.code };
}

describe.each(await stores())('every write is limited (%s)', (kind) => {
  let t: TestServer;
  let ann: TestUser;
  let bea: TestUser;
  beforeAll(async () => {
    t = await startTestServer(kind, {
      PARLEY_WRITE_RATE: '6/60s',
      PARLEY_PASSWORD_CHECK_LIMIT: '3/600s',
      PARLEY_FAILED_LOGIN_LIMIT: '4/600s',
      PARLEY_REGISTER_LIMIT: '3/600s',
    });
    [ann, bea] = [await t.user('ann'), await t.user('bea')];
  });
  afterAll(() => t?.close());

  it('edits and deletes draw on the budget for changes; past it a 429 with Retry-After, and the message keeps its last accepted text', async () => {
    const self = (await ann.client.listChats()).chats.find((c) => c.kind === 'self')!;
    const m = await ann.client.sendMessage({ chatId: self.id, text: 'v0', clientMessageId: 'edit-me' });
    for (let i = 1; i <= 5; i++) await ann.client.editMessage({ chatId: self.id, messageId: m.id, text: `v${i}` });
    await ann.client.deleteMessage({
      chatId: self.id,
      messageId: (await ann.client.sendMessage({ chatId: self.id, text: 'gone', clientMessageId: 'del' })).id,
    });
    const refused = await failure(ann.client.editMessage({ chatId: self.id, messageId: m.id, text: 'v7' }));
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(refused.retryAfter).toBeGreaterThan(0);
    const page = await ann.client.listMessages({ chatId: self.id });
    expect(page.messages.find((x) => x.id === m.id)?.text).toBe('v5');
  });

  it('new chats and new members draw on the same budget, and a refused one creates nothing', async () => {
    for (let i = 0; i < 6; i++) await bea.client.createGroup({ title: `g${i}` });
    expect(await failure(bea.client.createGroup({ title: 'one too many' }))).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(await failure(bea.client.createPrivateChat({ userId: ann.id }))).toMatchObject({ status: 429, code: 'rate_limited' });
    const titles = (await bea.client.listChats()).chats.map((c) => c.title);
    expect(titles).not.toContain('one too many');
    expect((await bea.client.listChats()).chats.filter((c) => c.kind === 'private')).toHaveLength(0);
  });

  it('wrong current passwords are limited per user: past the limit even the right one is refused', async () => {
    const cy = await t.user('cyd');
    for (let i = 0; i < 3; i++) {
      expect(await failure(cy.client.changePassword({ currentPassword: `guess-${i}`, newPassword: 'a new long password' }))).toMatchObject({
        status: 401,
        code: 'invalid_credentials',
      });
    }
    expect(await failure(cy.client.changePassword({ currentPassword: cy.password, newPassword: 'a new long password' }))).toMatchObject({
      status: 429,
      code: 'rate_limited',
    });
    expect(await failure(cy.client.deleteAccount({ password: cy.password }))).toMatchObject({ status: 429, code: 'rate_limited' });
    // The password is unchanged.
    const other = t.client();
    await other.login({ username: cy.username, password: cy.password, deviceName: 'check' });
  });

  it('failed sign-ins from one address are limited across usernames', async () => {
    const users = [await t.user('dee'), await t.user('eve'), await t.user('fay'), await t.user('gus'), await t.user('hal')];
    const tries = [];
    for (const u of users.slice(0, 4)) tries.push(await postJson(t, '/auth/login', { username: u.username, password: 'Summer2026!', deviceName: 'spray' }));
    expect(tries.map((r) => r.status)).toEqual([401, 401, 401, 401]);
    // The fifth username, never tried before, is refused all the same.
    const fifth = await postJson(t, '/auth/login', { username: users[4]!.username, password: 'Summer2026!', deviceName: 'spray' });
    expect(fifth).toEqual({ status: 429, code: 'rate_limited' });
  });

  it('registrations with made-up invite codes are refused, then limited per address before any password is hashed', async () => {
    const attempt = (inviteCode: string, username: string) =>
      postJson(t, '/auth/register', { inviteCode, username, password: 'a long password', displayName: 'Spam' });
    const refused = [];
    for (let i = 0; i < 3; i++) refused.push(await attempt(`made-up-code-${i}`.padEnd(24, 'x'), `spam${i}`));
    expect(refused.map((r) => r.status)).toEqual(refused.map(() => 400));
    expect(refused.every((r) => r.code === 'invite_invalid')).toBe(true);
    // Even a good code waits until the limit has passed.
    expect(await attempt(await t.invite(), 'spam9')).toEqual({ status: 429, code: 'rate_limited' });
  });
});
