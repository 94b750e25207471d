import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient } from '@parley/sdk';
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
import { rawSocket } from './_ws.ts';

const skip = await multiNodeUnavailable();

/**
 * Two nodes that lose Redis, then PostgreSQL, and get them back. The nodes reach PostgreSQL through a
 * path the test can cut (a TCP relay to the shared server), so the shared server itself is never
 * stopped; Redis is a redis-server of the suite's own, killed and started again on its port.
 */
describe.skipIf(skip !== null)('two nodes losing Redis and PostgreSQL', () => {
  let store: TestStore;
  let redis: TestRedis;
  let pgPath: FrontDoor;
  const nodes: Node[] = [];
  const members: Member[] = [];
  let ann: Member, ben: Member, cy: Member;
  let group: string;

  beforeAll(async () => {
    [store, redis, pgPath] = await Promise.all([freshStore('postgres'), TestRedis.start(), FrontDoor.open([5432])]);
    const invite = await makeInvite(store);
    const url = new URL(store.env.DATABASE_URL!);
    const realPort = Number(url.port || 5432);
    pgPath.targets = [realPort];
    pgPath.host = url.hostname;
    url.hostname = '127.0.0.1';
    url.port = String(pgPath.port);
    const env = { DATABASE_URL: url.toString(), REDIS_URL: redis.url, PARLEY_PRESENCE_TTL: '6' };
    nodes.push(...(await Promise.all(['node-a', 'node-b'].map((n) => startNode(n, env)))));
    ann = await member(nodes[0]!.url, invite, 'ann');
    cy = await member(nodes[0]!.url, invite, 'cyd');
    ben = await member(nodes[1]!.url, invite, 'ben');
    members.push(ann, ben, cy);
    group = (await ann.client.createGroup({ title: 'Outages', memberIds: [ben.id, cy.id] })).id;
    await Promise.all(members.map((m) => m.rt.connect()));
  }, 180_000);

  afterAll(async () => {
    for (const m of members) m.rt.close();
    for (const n of nodes) n.proc.kill();
    await Promise.all(nodes.map((n) => n.proc.exited));
    await pgPath?.cut();
    await redis?.stop();
    await store?.drop();
  });

  it('keeps committing and acking sends while Redis is down, reports the bus down, and resumes realtime when it returns', async () => {
    const first = await ann.rt.send({ chatId: group, text: 'before the outage' }).acked;
    await waitFor('ben receives live', () => created(ben, group).some((m) => m.id === first.id), 3000);

    const stoppedAt = Date.now();
    await redis.stop();
    for (const n of nodes) {
      const r = await waitFor(`${n.name} to report the bus down`, async () => {
        const r = await readyz(n.url);
        return r.body.bus === 'down' && r;
      });
      expect(r).toEqual({ status: 503, body: { status: 'unavailable', store: 'up', bus: 'down', node: n.name } });
    }
    console.log(`bus reported down on both nodes ${Date.now() - stoppedAt} ms after Redis was killed`);

    const during = await Promise.all([1, 2, 3].map((i) => ann.rt.send({ chatId: group, text: `during ${i}` }).acked));
    const fromBen = await ben.client.sendMessage({ chatId: group, text: 'ben during', clientMessageId: 'ben-during' });
    expect(during.map((m) => m.seq).sort((a, b) => a - b)).toEqual([first.seq + 1, first.seq + 2, first.seq + 3]);
    expect(fromBen.seq).toBe(first.seq + 4);
    // A node still serves its own users: cy shares ann's node and hears her at once.
    await waitFor('cy on the same node receives live', () => during.every((d) => created(cy, group).some((m) => m.id === d.id)), 3000);

    // Everyone converges through sync, whatever the bus missed.
    const all = [first.seq, first.seq + 1, first.seq + 2, first.seq + 3, fromBen.seq];
    for (const m of [ann, ben, cy]) {
      await waitFor(
        `${m.name} to converge through sync`,
        async () => {
          await m.rt.sync();
          return created(m, group).length === all.length;
        },
        5000,
      );
      expect(created(m, group).map((x) => x.seq)).toEqual(all);
    }

    // Sessions still end on every node: each node re-checks its cached tokens against the store every second.
    const phone = new ParleyClient({ baseUrl: nodes[0]!.url });
    const tokens = await phone.login({ username: 'ben', password: ben.password, deviceName: 'phone' });
    const me = (url: string) => fetch(`${url}/api/v1/me`, { headers: { authorization: `Bearer ${tokens.accessToken}` } }).then((r) => r.status);
    for (const n of nodes) expect(await me(n.url)).toBe(200);
    const terminatedAt = Date.now();
    await ben.client.terminateSession({ sessionId: tokens.sessionId });
    const refusedAt = await Promise.all(nodes.map((n) => waitFor(`${n.name} to refuse`, async () => (await me(n.url)) === 401 && Date.now(), 5000, 20)));
    const slowest = Math.max(...refusedAt) - terminatedAt;
    console.log(`without Redis, a terminated session was refused after ${refusedAt.map((t) => t - terminatedAt).join(' / ')} ms on nodes a/b`);
    expect(slowest).toBeLessThan(2000);

    // One more while Redis is down, from ann's node: ben's node cannot hear of it, and nothing else
    // happens in the chat afterwards that would make ben's device notice a gap.
    const unheard = await ann.rt.send({ chatId: group, text: 'just before Redis returns' }).acked;
    const resyncs = await rawSocket({ url: nodes[1]!.url }, ben);

    const restartedAt = Date.now();
    await redis.start();
    for (const n of nodes) {
      await waitFor(`${n.name} to report the bus up`, async () => (await readyz(n.url)).status === 200, 10_000, 50);
    }
    console.log(`bus reported up on both nodes ${Date.now() - restartedAt} ms after Redis came back`);
    // Each node tells its sockets to resync once it listens again, so ben's device catches up by itself.
    await resyncs.waitFor((f) => f.type === 'resync', 10_000, "a resync frame from ben's node");
    await waitFor('ben to get the message sent while his node could not hear it', () => created(ben, group).some((m) => m.id === unheard.id), 5000);
    resyncs.close();
    const after = await ann.rt.send({ chatId: group, text: 'after the outage' }).acked;
    await waitFor('ben receives live again', () => created(ben, group).some((m) => m.id === after.id), 3000);
    const metrics = await (await fetch(`${nodes[0]!.url}/metrics`)).text();
    expect(metrics).toMatch(/^parley_bus_up\{node="node-a"\} 1$/m);
    expect(Number(/^parley_bus_publish_failures_total\{node="node-a"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  });

  it('holds the message rate for a user who sends through both nodes', async () => {
    // The default is 30 messages per 10 s per user, counted in Redis for the whole cluster.
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) {
      const res = await fetch(`${nodes[i % 2]!.url}/api/v1/chats/${group}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${cy.client.session!.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: `rate ${i}`, clientMessageId: `rate-${i}` }),
      });
      statuses.push(res.status);
      if (res.status === 429) expect((await res.json()).error.code).toBe('rate_limited');
    }
    expect(statuses.filter((s) => s === 201 || s === 200)).toHaveLength(30);
    expect(statuses.slice(30)).toEqual([429, 429]);
  });

  it('answers 503 service_unavailable while PostgreSQL is unreachable, stays up, and recovers when it returns', async () => {
    const cutAt = Date.now();
    await pgPath.cut();
    for (const [m, n] of [
      [ann, nodes[0]!],
      [ben, nodes[1]!],
    ] as const) {
      const res = await fetch(`${n.url}/api/v1/me`, { headers: { authorization: `Bearer ${m.client.session!.accessToken}` } }).catch((err) => {
        throw new Error(`${n.name} did not answer (exit ${n.proc.child.exitCode}): ${err}\n${n.proc.stderr()}\n${n.proc.stdout().slice(-3000)}`);
      });
      expect(res.status).toBe(503);
      expect((await res.json()).error).toEqual({ code: 'service_unavailable', message: expect.stringMatching(/database/i) });
      const send = await fetch(`${n.url}/api/v1/chats/${group}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${m.client.session!.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'into the void', clientMessageId: `void-${m.name}` }),
      });
      expect(send.status).toBe(503);
      const r = await readyz(n.url);
      expect(r).toEqual({ status: 503, body: { status: 'unavailable', store: 'down', bus: 'up', node: n.name } });
    }
    // A send over the socket during the outage is answered with an error and retried by the client.
    const pending = ann.rt.send({ chatId: group, text: 'sent during the database outage' });
    await new Promise((r) => setTimeout(r, 1500));
    for (const n of nodes) {
      expect(n.proc.child.exitCode).toBeNull();
      expect((await fetch(`${n.url}/healthz`)).status).toBe(200);
    }

    await pgPath.open();
    const reopenedAt = Date.now();
    for (const [m, n] of [
      [ann, nodes[0]!],
      [ben, nodes[1]!],
    ] as const) {
      await waitFor(
        `${n.name} to serve again`,
        async () => {
          const res = await fetch(`${n.url}/api/v1/me`, { headers: { authorization: `Bearer ${m.client.session!.accessToken}` } });
          return res.status === 200;
        },
        10_000,
        50,
      );
      expect((await readyz(n.url)).status).toBe(200);
    }
    console.log(`database outage of ${reopenedAt - cutAt} ms; both nodes served again ${Date.now() - reopenedAt} ms after it returned`);
    const message = await pending.acked;
    await waitFor('ben receives the retried send once', () => created(ben, group).filter((m) => m.id === message.id).length === 1, 5000);
    const listed = await ben.client.listMessages({ chatId: group });
    expect(listed.messages.filter((m) => m.text === 'sent during the database outage')).toHaveLength(1);
    expect(listed.messages.some((m) => m.text === 'into the void')).toBe(false);
  });

  it('says goodbye when a node is stopped: its users are reported offline at once, not after the presence TTL', async () => {
    await ann.client.createPrivateChat({ userId: ben.id });
    await waitFor('ben to be online for ann', async () => (await ann.client.getPresence({ userIds: [ben.id] })).presence[0]?.online, 3000);
    ann.presence.length = 0;
    const stoppedAt = Date.now();
    nodes[1]!.proc.child.kill('SIGTERM');
    expect(await nodes[1]!.proc.exited).toEqual({ code: 0, signal: null });
    // Ben's client keeps trying the stopped node; no other node holds him.
    await waitFor('ann to hear ben went offline', () => ann.presence.some((p) => p.userId === ben.id && !p.online), 4000, 20);
    const heard = Date.now() - stoppedAt;
    console.log(`a stopped node's user reported offline after ${heard} ms (presence TTL 6 s)`);
    expect(heard).toBeLessThan(4000);
    expect((await ann.client.getPresence({ userIds: [ben.id] })).presence[0]).toMatchObject({ online: false, lastSeenAt: expect.any(String) });
  });
});
