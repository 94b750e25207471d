import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ParleyClient, ParleyRealtime, type WebSocketFactory } from '@parley/sdk';
import {
  FrontDoor,
  TestRedis,
  created,
  freshStore,
  makeInvite,
  member,
  multiNodeUnavailable,
  readyz,
  startNode,
  waitFor,
  type Member,
  type Node,
} from './_multi-node.ts';
import type { TestStore } from './_harness.ts';

const skip = await multiNodeUnavailable();

/** Three `parley serve` processes on one PostgreSQL database and one Redis of the suite's own. */
describe.skipIf(skip !== null)('three nodes on PostgreSQL and Redis', () => {
  let store: TestStore;
  let redis: TestRedis;
  const nodes: Node[] = [];
  const doors: FrontDoor[] = [];
  const members: Member[] = [];
  let invite: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    [store, redis] = await Promise.all([freshStore('postgres'), TestRedis.start()]);
    invite = await makeInvite(store);
    env = {
      ...(store.env as Record<string, string>),
      REDIS_URL: redis.url,
      PARLEY_PRESENCE_TTL: '4',
      PARLEY_MESSAGE_RATE: '1000/10s',
      PARLEY_LOGIN_LIMIT: '6/60s',
      LOG_LEVEL: 'info',
    };
    nodes.push(...(await Promise.all(['node-1', 'node-2', 'node-3'].map((n) => startNode(n, env)))));
  }, 180_000);

  afterAll(async () => {
    for (const m of members) m.rt.close();
    for (const d of doors) await d.cut();
    for (const n of nodes) n.proc.kill();
    await Promise.all(nodes.map((n) => n.proc.exited));
    await redis?.stop();
    await store?.drop();
  });

  async function join(node: Node | FrontDoor, name: string): Promise<Member> {
    const m = await member(node.url, invite, name);
    members.push(m);
    return m;
  }

  it('names its node on /readyz, in /metrics and on every log line', async () => {
    for (const n of nodes) {
      await waitFor('the start-up log line', () => n.proc.stdout().includes('"msg":"parley listening"'), 3000);
      const logLines = n.proc
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
      for (const l of logLines) expect(l.node).toBe(n.name);
      const r = await readyz(n.url);
      expect(r).toEqual({ status: 200, body: { status: 'ready', store: 'up', bus: 'up', node: n.name } });
      const metrics = await (await fetch(`${n.url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`^parley_bus_up\\{node="${n.name}"\\} 1$`, 'm'));
      const info = metrics.split('\n').find((l) => l.startsWith('parley_node_info{'));
      expect(info).toContain(`node="${n.name}"`);
      expect(info).toContain('bus="redis"');
      expect(info).toContain('store="postgres"');
    }
  });

  let group: string;
  let ann: Member, ben: Member, cat: Member;

  it('delivers a message sent on node 1 to members on nodes 2 and 3 in realtime', async () => {
    ann = await join(nodes[0]!, 'ann');
    ben = await join(nodes[1]!, 'ben');
    // Cat reaches the cluster through a front door that prefers node 3, then node 1.
    const door = await FrontDoor.open([nodes[2]!.port, nodes[0]!.port]);
    doors.push(door);
    cat = await join(door, 'cat');
    group = (await ann.client.createGroup({ title: 'Three nodes', memberIds: [ben.id, cat.id] })).id;
    await Promise.all([ann.rt.connect(), ben.rt.connect(), cat.rt.connect()]);
    const started = Date.now();
    const sent = await ann.rt.send({ chatId: group, text: 'hello from node 1' }).acked;
    await waitFor(
      'ben and cat to receive',
      () => created(ben, group).some((m) => m.id === sent.id) && created(cat, group).some((m) => m.id === sent.id),
      5000,
      2,
    );
    const latency = Date.now() - started;
    console.log(`cross-node delivery: send+ack+fan-out ${latency} ms`);
    expect(latency).toBeLessThan(1000);
  });

  it('gives concurrent senders on three nodes one gap-free order, the same for everyone', async () => {
    const before = (await ann.client.listMessages({ chatId: group })).messages.length;
    const perSender = 15;
    const sends = [ann, ben, cat].flatMap((m) => Array.from({ length: perSender }, (_, i) => m.rt.send({ chatId: group, text: `${m.name} ${i}` }).acked));
    const acked = await Promise.all(sends);
    const total = before + acked.length;
    expect(new Set(acked.map((m) => m.seq)).size).toBe(acked.length);
    for (const m of [ann, ben, cat]) {
      await waitFor(`${m.name} to apply every message`, () => created(m, group).length === total, 10_000);
      const seen = created(m, group);
      expect(seen.map((x) => x.seq)).toEqual(seen.map((_, i) => seen[0]!.seq + i));
    }
    const order = (m: Member) => created(m, group).map((x) => `${x.seq}:${x.id}`);
    expect(order(ben)).toEqual(order(ann));
    expect(order(cat)).toEqual(order(ann));
  });

  it('carries typing to other nodes', async () => {
    ann.rt.typing(group);
    await waitFor('typing on nodes 2 and 3', () => [ben, cat].every((m) => m.typing.some((t) => t.chatId === group && t.userId === ann.id)), 3000);
  });

  it('shows a user on node 3 as online to a contact on node 2, and offline with last seen when they leave', async () => {
    const dot = await join(nodes[2]!, 'dot');
    await ben.client.createPrivateChat({ userId: dot.id });
    expect((await ben.client.getPresence({ userIds: [dot.id] })).presence).toEqual([{ userId: dot.id, online: false, lastSeenAt: null }]);
    await dot.rt.connect();
    await waitFor('ben hears dot is online', () => ben.presence.some((p) => p.userId === dot.id && p.online), 3000);
    expect((await ben.client.getPresence({ userIds: [dot.id] })).presence[0]).toMatchObject({ online: true });
    // Ann on node 1 shares the group with ben only: she cannot see dot at all.
    expect((await ann.client.getPresence({ userIds: [dot.id] })).presence).toEqual([]);
    dot.rt.close();
    await waitFor('ben hears dot left', () => ben.presence.some((p) => p.userId === dot.id && !p.online && p.lastSeenAt !== null), 3000);
    expect((await ben.client.getPresence({ userIds: [dot.id] })).presence[0]).toMatchObject({ online: false, lastSeenAt: expect.any(String) });
  });

  it('holds the login limit for one username and address across nodes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${nodes[i % 3]!.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'ghost', password: 'wrong password', deviceName: 'd' }),
      });
      statuses.push(res.status);
      if (res.status === 429) expect((await res.json()).error.code).toBe('rate_limited');
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429, 429]);
  });

  it('refuses a terminated session on every node within one second', async () => {
    const eve = await join(nodes[0]!, 'eve');
    const phone = new ParleyClient({ baseUrl: nodes[2]!.url });
    const tokens = await phone.login({ username: 'eve', password: eve.password, deviceName: 'phone' });
    const me = (url: string) => fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${tokens.accessToken}` } }).then((r) => r.status);
    // Every node has resolved (and cached) the token, and node 3 holds the phone's socket.
    for (const n of nodes) expect(await me(n.url)).toBe(200);
    const rt = new ParleyRealtime(phone, { WebSocket: WebSocket as unknown as WebSocketFactory });
    await rt.connect();
    const started = Date.now();
    await eve.client.terminateSession({ sessionId: tokens.sessionId });
    const refusedAt = await Promise.all(nodes.map((n) => waitFor(`${n.name} to refuse`, async () => (await me(n.url)) === 401 && Date.now(), 3000, 10)));
    await waitFor('the socket on node 3 to end', () => rt.state === 'ended', 3000, 10);
    const slowest = Math.max(...refusedAt, Date.now()) - started;
    console.log(`terminated session refused after ${refusedAt.map((t) => t - started).join(' / ')} ms on nodes 1/2/3, socket closed after ${slowest} ms`);
    expect(slowest).toBeLessThan(1000);
  });

  it('survives kill -9 of a node while messages flow: its clients move on, every acked message arrives exactly once', async () => {
    const fay = await join(nodes[2]!, 'fay');
    await ben.client.createPrivateChat({ userId: fay.id });
    await fay.rt.connect();
    await waitFor('ben hears fay is online', () => ben.presence.some((p) => p.userId === fay.id && p.online), 3000);

    const acked: Promise<{ id: string }>[] = [];
    let stop = false;
    const flow = (async () => {
      for (let i = 0; !stop && i < 200; i++) {
        for (const m of [ann, ben, cat]) acked.push(m.rt.send({ chatId: group, text: `flow ${m.name} ${i}` }).acked);
        await new Promise((r) => setTimeout(r, 30));
      }
    })();
    await new Promise((r) => setTimeout(r, 400));
    const killedAt = Date.now();
    nodes[2]!.proc.child.kill('SIGKILL');
    await nodes[2]!.proc.exited;
    await waitFor('cat to reconnect through the front door', () => cat.rt.state === 'online', 10_000, 10);
    console.log(`client of the killed node back online (on node 1) after ${Date.now() - killedAt} ms`);
    await new Promise((r) => setTimeout(r, 400));
    stop = true;
    await flow;
    const messages = await Promise.all(acked.map((p) => withTimeout(p, 15_000)));
    const ids = new Set(messages.map((m) => m.id));
    expect(ids.size).toBe(messages.length);

    const stored = await listAll(ann.client, group);
    for (const m of [ann, ben, cat]) {
      await waitFor(`${m.name} to have every message`, () => created(m, group).length === stored.length, 10_000);
      const seen = created(m, group);
      expect(new Set(seen.map((x) => x.id)).size).toBe(seen.length);
      expect(seen.map((x) => x.seq)).toEqual(stored.map((x) => x.seq));
      for (const id of ids) expect(seen.some((x) => x.id === id)).toBe(true);
    }
    console.log(`kill -9 test: ${messages.length} acked messages, each delivered once to 3 members`);

    // Fay's node died without a goodbye: her contact sees her go offline once her node's word expires.
    await waitFor('ben to hear fay went offline', () => ben.presence.some((p) => p.userId === fay.id && !p.online), 20_000, 50);
    console.log(`dead node's user reported offline ${Date.now() - killedAt} ms after the kill (TTL 4 s)`);
    expect((await ben.client.getPresence({ userIds: [fay.id] })).presence[0]).toMatchObject({ online: false });
    fay.rt.close();
  });
});

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ack within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every message of a chat, oldest first. */
async function listAll(client: ParleyClient, chatId: string): Promise<{ id: string; seq: number }[]> {
  const out: { id: string; seq: number }[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await client.listMessages({ chatId, limit: 100, ...(before ? { before } : {}) });
    out.push(...page.messages.map((m) => ({ id: m.id, seq: m.seq })));
    if (page.messages.length < 100) break;
    before = Math.min(...page.messages.map((m) => m.seq));
  }
  return out.sort((a, b) => a.seq - b.seq);
}
