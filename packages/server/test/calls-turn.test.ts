import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './_harness.ts';
import { OFFER, callFrame, device, type Device } from './_calls.ts';
import { TestTurn, allocate, turnUnavailable } from './_turn.ts';

const skip = turnUnavailable();
const SECRET = 'coturn-shared-secret-1b2c';
const TTL_SECONDS = 300;

/** The credentials Parley mints, checked by a real coturn: a TURN Allocate succeeds with them, and fails when they are forged or expired. */
describe.skipIf(skip !== null)('TURN credentials against coturn', () => {
  let turn: TestTurn;
  let t: TestServer;
  let offset = 0;
  const devices: Device[] = [];

  beforeAll(async () => {
    turn = await TestTurn.start(SECRET);
    t = await startTestServer(
      'sqlite',
      {
        PARLEY_LOGIN_LIMIT: '1000/60s',
        PARLEY_TURN_URLS: `turn:127.0.0.1:${turn.port}?transport=udp`,
        PARLEY_TURN_SECRET: SECRET,
        PARLEY_TURN_TTL_SECONDS: String(TTL_SECONDS),
      },
      { now: () => Date.now() + offset },
    );
  }, 30_000);
  afterAll(async () => {
    for (const d of devices) d.rt.close();
    await t?.close();
    await turn?.stop();
  });

  it('gets an allocation with the caller’s and the callee’s credentials, and a 401 with forged or expired ones', async () => {
    const [ann, bob] = await t.users('ann', 'bob');
    const chatId = (await ann.client.createPrivateChat({ userId: bob.id })).id;
    const caller = await device(t.url, ann, 'first', ann.client);
    const callee = await device(t.url, bob, 'first', bob.client);
    devices.push(caller, callee);

    const placed = await caller.rt.inviteCall({ chatId, offer: OFFER });
    const mine = placed.iceServers.find((s) => s.username)!;
    expect(mine.urls).toEqual([`turn:127.0.0.1:${turn.port}?transport=udp`]);
    const theirs = (await callFrame(callee, 'call.incoming', (f) => f.callId === placed.callId)).iceServers.find((s) => s.username)!;
    for (const server of [mine, theirs]) {
      const result = await allocate(turn.port, { username: server.username!, credential: server.credential! });
      expect(result, turn.log().slice(-2000)).toMatchObject({ ok: true, relayed: { address: '127.0.0.1' } });
    }

    // Signed with another secret: refused.
    const forged = createHmac('sha1', 'not-the-secret').update(mine.username!).digest('base64');
    expect(await allocate(turn.port, { username: mine.username!, credential: forged })).toEqual({ ok: false, code: 401 });
    // Another user's name under my credential: refused.
    const other = `${mine.username!.split(':')[0]}:${bob.id}`;
    expect(await allocate(turn.port, { username: other, credential: mine.credential! })).toEqual({ ok: false, code: 401 });
    await caller.rt.hangupCall(placed.callId);

    // Minted as if twice the TTL ago: expired by now, refused.
    offset = -2 * TTL_SECONDS * 1000;
    try {
      const old = await caller.rt.inviteCall({ chatId, offer: OFFER });
      const stale = old.iceServers.find((s) => s.username)!;
      expect(Number(stale.username!.split(':')[0])).toBeLessThan(Date.now() / 1000);
      expect(await allocate(turn.port, { username: stale.username!, credential: stale.credential! })).toEqual({ ok: false, code: 401 });
      await caller.rt.hangupCall(old.callId);
    } finally {
      offset = 0;
    }
  });
});
