import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WS_PATH, WS_PROTOCOL, WS_TOKEN_PREFIX } from '@parley/protocol';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { eventually, realtimeFor } from './_realtime.ts';

type Seen = { userId: string; online: boolean; lastSeenAt: string | null };

/** A realtime client that also records the presence frames it gets. */
function watcher(user: TestUser) {
  const r = realtimeFor(user);
  const presence: Seen[] = [];
  r.rt.on('presence', (p) => presence.push(p));
  return { ...r, presence };
}

describe.each(await stores())('presence on one node (%s)', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    // Pings every second, so a socket that stops answering is dropped within about two.
    t = await startTestServer(kind, { PARLEY_WS_HEARTBEAT: '1' });
  });
  afterAll(async () => t?.close());

  it('shows contacts when a user comes online and goes offline, with last seen, and nobody else', async () => {
    const alice = await t.user('alice');
    const bob = await t.user('bob');
    const carol = await t.user('carol');
    await alice.client.createPrivateChat({ userId: bob.id });
    const b = watcher(bob);
    await b.rt.connect();
    expect((await bob.client.getPresence({ userIds: [alice.id] })).presence).toEqual([{ userId: alice.id, online: false, lastSeenAt: null }]);

    const laptop = realtimeFor(alice);
    await laptop.rt.connect();
    await eventually(() => b.presence.some((p) => p.userId === alice.id && p.online), 3000, 'bob hears alice is online');
    expect((await bob.client.getPresence({ userIds: [alice.id] })).presence[0]).toMatchObject({ online: true });
    // Carol shares no chat with alice: she learns nothing, not even that alice exists.
    expect((await carol.client.getPresence({ userIds: [alice.id] })).presence).toEqual([]);

    // A second device: closing one of two keeps alice online.
    const phoneUser = { ...alice, client: t.client() };
    await phoneUser.client.login({ username: 'alice', password: alice.password, deviceName: 'phone' });
    const phone = realtimeFor(phoneUser);
    await phone.rt.connect();
    laptop.rt.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(b.presence.some((p) => p.userId === alice.id && !p.online)).toBe(false);
    expect((await bob.client.getPresence({ userIds: [alice.id] })).presence[0]).toMatchObject({ online: true });

    const before = Date.now();
    phone.rt.close();
    await eventually(() => b.presence.some((p) => p.userId === alice.id && !p.online), 3000, 'bob hears alice went offline');
    const offline = b.presence.find((p) => p.userId === alice.id && !p.online)!;
    expect(Date.parse(offline.lastSeenAt!)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(offline.lastSeenAt!)).toBeLessThanOrEqual(Date.now());
    const [polled] = (await bob.client.getPresence({ userIds: [alice.id] })).presence;
    expect(polled).toEqual({ userId: alice.id, online: false, lastSeenAt: offline.lastSeenAt });
    b.rt.close();
  });

  it('drops a socket that stops answering pings and reports its user offline', async () => {
    const dave = await t.user('dave');
    const erin = await t.user('erin');
    await dave.client.createPrivateChat({ userId: erin.id });
    const e = watcher(erin);
    await e.rt.connect();

    // A client whose network vanished: it never answers a ping and never closes.
    const url = `${t.url.replace(/^http/, 'ws')}${WS_PATH}`;
    const dead = new WebSocket(url, [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${dave.session.accessToken}`], { autoPong: false });
    const hello = await new Promise<any>((resolve, reject) => {
      dead.once('message', (data) => resolve(JSON.parse(String(data))));
      dead.once('error', reject);
    });
    expect(hello).toMatchObject({ type: 'hello', heartbeatMs: 1000 });
    await eventually(() => e.presence.some((p) => p.userId === dave.id && p.online), 3000, 'erin hears dave is online');

    const started = Date.now();
    const closed = new Promise<number>((resolve) => dead.once('close', () => resolve(Date.now())));
    await eventually(() => e.presence.some((p) => p.userId === dave.id && !p.online), 10_000, 'erin hears dave went offline');
    const droppedAfter = (await closed) - started;
    console.log(`dead socket dropped ${droppedAfter} ms after its user was seen online (ping every 1 s)`);
    expect(droppedAfter).toBeLessThan(5000);
    expect((await erin.client.getPresence({ userIds: [dave.id] })).presence[0]).toMatchObject({ online: false, lastSeenAt: expect.any(String) });
    e.rt.close();
  });
});
