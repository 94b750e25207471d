import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

/** A login straight over HTTP, with whatever X-Forwarded-For the caller chooses. */
async function login(t: TestServer, user: TestUser, forwardedFor: string, password = user.password): Promise<number> {
  const res = await fetch(`${t.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ username: user.username, password, deviceName: `via ${forwardedFor.slice(0, 20)}` }),
  });
  await res.body?.cancel();
  return res.status;
}

async function sessionIps(user: TestUser): Promise<string[]> {
  return (await user.client.listSessions()).sessions.map((s) => s.ip);
}

describe.each(await stores())('X-Forwarded-For is believed only from the configured proxies (%s)', (kind) => {
  describe('trusting a proxy address this client is not', () => {
    let t: TestServer;
    let ann: TestUser;
    beforeAll(async () => {
      t = await startTestServer(kind, { PARLEY_TRUST_PROXY: '10.9.9.9,192.0.2.0/24', PARLEY_LOGIN_LIMIT: '5/60s' });
      ann = await t.user('ann');
    });
    afterAll(() => t.close());

    it('a client that writes its own X-Forwarded-For is still limited by its real address', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push(await login(t, ann, `203.0.113.${i + 1}`, 'wrong-password'));
      // ann's fixture login took one point of the five.
      expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
      expect(statuses.slice(4).every((s) => s === 429)).toBe(true);
    });

    it('the session records the socket address, not the written one', async () => {
      expect(await sessionIps(ann)).toEqual(['127.0.0.1']);
    });
  });

  describe('trusting the local proxy', () => {
    let t: TestServer;
    let bea: TestUser;
    beforeAll(async () => {
      t = await startTestServer(kind, { PARLEY_TRUST_PROXY: 'loopback' });
      bea = await t.user('bea');
    });
    afterAll(() => t.close());

    it('the address the proxy states becomes the session address', async () => {
      expect(await login(t, bea, '198.51.100.7')).toBe(200);
      expect(await sessionIps(bea)).toContain('198.51.100.7');
    });

    it('a forwarded value that is not an IP address, or is too long for the column, is not stored and is no 5xx', async () => {
      expect(await login(t, bea, 'not-an-ip')).toBe(200);
      expect(await login(t, bea, '1'.repeat(65))).toBe(200);
      const ips = await sessionIps(bea);
      expect(ips).not.toContain('not-an-ip');
      expect(ips.every((ip) => ip.length <= 64)).toBe(true);
      expect(ips.filter((ip) => ip === '127.0.0.1')).toHaveLength(3);
    });
  });
});
