import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WS_PROTOCOL, WS_TOKEN_PREFIX } from '@parley/sdk';
import { TestRedis, created, freshStore, makeInvite, member, multiNodeUnavailable, startNode, waitFor, type Member, type Node } from './_multi-node.ts';
import type { TestStore } from './_harness.ts';

const skip = await multiNodeUnavailable();

/** What a node has received from the bus, by topic: messages and bytes (its /metrics). */
async function received(node: Node, topic: string): Promise<{ messages: number; bytes: number }> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const value = (name: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) && l.includes(`topic="${topic}"`))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  return { messages: value('parley_bus_received_total'), bytes: value('parley_bus_received_bytes_total') };
}

/** Three nodes, one PostgreSQL, one Redis: deliveries reach only the nodes that hold their recipients. */
describe.skipIf(skip !== null)('deliveries routed by recipient over three nodes', () => {
  let store: TestStore;
  let redis: TestRedis;
  const nodes: Node[] = [];
  const members: Member[] = [];
  let invite: string;

  beforeAll(async () => {
    [store, redis] = await Promise.all([freshStore('postgres'), TestRedis.start()]);
    invite = await makeInvite(store);
    const env = { ...(store.env as Record<string, string>), REDIS_URL: redis.url, PARLEY_PRESENCE_TTL: '3', PARLEY_MESSAGE_RATE: '1000/10s' };
    nodes.push(...(await Promise.all(['route-1', 'route-2', 'route-3'].map((n) => startNode(n, env)))));
  }, 180_000);

  afterAll(async () => {
    for (const m of members) m.rt.close();
    for (const n of nodes) n.proc.kill();
    await Promise.all(nodes.map((n) => n.proc.exited));
    await redis?.stop();
    await store?.drop();
  });

  async function join(node: Node, name: string): Promise<Member> {
    const m = await member(node.url, invite, name);
    members.push(m);
    return m;
  }

  it('a node with none of the recipients receives none of the deliveries; the one holding them receives each once', async () => {
    const [n1, n2, n3] = nodes as [Node, Node, Node];
    const ann = await join(n1, 'ann');
    const ben = await join(n2, 'ben');
    // Cal is a member with no socket anywhere: no node receives anything for him.
    const cal = await member(n3.url, invite, 'cal');
    const group = (await ann.client.createGroup({ title: 'Routed', memberIds: [ben.id, cal.id] })).id;
    await Promise.all([ann.rt.connect(), ben.rt.connect()]);
    const before = await Promise.all(nodes.map((n) => received(n, 'deliver')));

    const n = 30;
    for (let i = 0; i < n; i++) await ann.rt.send({ chatId: group, text: `routed ${i}` }).acked;
    await waitFor('ben receives every message live', () => created(ben, group).length >= n, 10_000);

    const after = await Promise.all(nodes.map((node) => received(node, 'deliver')));
    const delta = after.map((a, i) => ({ messages: a.messages - before[i]!.messages, bytes: a.bytes - before[i]!.bytes }));
    // route-3 holds nobody of the group: nothing reaches it (before routing it received all 30).
    expect(delta[2]).toEqual({ messages: 0, bytes: 0 });
    // route-2 holds Ben: one delivery per message, naming only him.
    expect(delta[1]!.messages).toBe(n);
    // route-1 published them and delivered its own sockets locally: nothing comes back to it.
    expect(delta[0]!.messages).toBe(0);
    const perMessage = delta[1]!.bytes / n;
    expect(perMessage).toBeLessThan(1000);
  });

  it('a socket that has its hello receives everything committed after it, even the very next message from another node', async () => {
    const [n1, , n3] = nodes as [Node, Node, Node];
    const dee = await join(n1, 'dee');
    const eli = await member(n3.url, invite, 'eli');
    const chat = (await dee.client.createPrivateChat({ userId: eli.id })).id;
    const open = () => {
      const ws = new WebSocket(n3.url.replace('http', 'ws') + '/api/v1/ws', [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${eli.client.session!.accessToken}`]);
      const frames: { type: string; event?: { message?: { text?: string } } }[] = [];
      ws.on('message', (d) => frames.push(JSON.parse(String(d))));
      return { ws, frames };
    };
    // While Redis stalls, route-3 cannot register Eli, so it holds his hello back: a client that
    // backfilled now could miss what commits before the registration lands.
    redis.pause();
    const held = open();
    try {
      await new Promise((r) => setTimeout(r, 700));
      expect(held.frames.filter((f) => f.type === 'hello')).toEqual([]);
    } finally {
      redis.resume();
    }
    await waitFor('the hello once registered', () => held.frames.some((f) => f.type === 'hello'), 5000, 5);
    await dee.client.sendMessage({ chatId: chat, clientMessageId: 'held', text: 'after the held hello' });
    await waitFor('the message live on that socket', () => held.frames.some((f) => f.event?.message?.text === 'after the held hello'), 5000, 10);
    const heldClosed = new Promise((r) => held.ws.once('close', r));
    held.ws.close();
    await heldClosed;
    await new Promise((r) => setTimeout(r, 50));
    // A Redis that stays stalled holds a hello back for two seconds at most.
    redis.pause();
    const late = open();
    try {
      const opened = Date.now();
      await waitFor('the hello despite the stalled Redis', () => late.frames.some((f) => f.type === 'hello'), 5000, 20);
      expect(Date.now() - opened).toBeGreaterThan(1500);
    } finally {
      redis.resume();
    }
    const lateClosed = new Promise((r) => late.ws.once('close', r));
    late.ws.close();
    await lateClosed;
    await new Promise((r) => setTimeout(r, 50));

    // Eli's first socket on route-3, opened again and again: a message sent the moment the hello
    // arrives must come live on that socket, with no other socket of his anywhere.
    for (let round = 0; round < 8; round++) {
      const { ws, frames } = open();
      await waitFor('the hello', () => frames.some((f) => f.type === 'hello'), 5000, 5);
      const text = `right after hello ${round}`;
      await dee.client.sendMessage({ chatId: chat, clientMessageId: `h${round}`, text });
      await waitFor(`"${text}" live on the new socket`, () => frames.some((f) => f.event?.message?.text === text), 5000, 10);
      const closed = new Promise((r) => ws.once('close', r));
      ws.close();
      await closed;
      // The node withdraws Eli once his last socket is gone; the next round registers him again.
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('when Redis forgets who is where, nodes register their users again and have their sockets resync', async () => {
    const [n1, n2] = nodes as [Node, Node, Node];
    const fay = await join(n1, 'fay');
    const gus = await join(n2, 'gus');
    const chat = (await fay.client.createPrivateChat({ userId: gus.id })).id;
    await Promise.all([fay.rt.connect(), gus.rt.connect()]);
    await fay.rt.send({ chatId: chat, text: 'before' }).acked;
    await waitFor('gus has the first message', () => created(gus, chat).length === 1, 5000);
    // The directory is lost (Redis restarted without its data, or flushed): for a moment nobody
    // is routed anywhere, and this message reaches no other node live.
    expect(spawnSync('redis-cli', ['-p', String(redis.port), 'flushall'], { encoding: 'utf8' }).stdout.trim()).toBe('OK');
    await fay.rt.send({ chatId: chat, text: 'while forgotten' }).acked;
    // route-2's next heartbeat finds Gus forgotten, registers him again and has his socket resync.
    await waitFor('gus catches up on the message routed nowhere', () => created(gus, chat).some((m) => m.text === 'while forgotten'), 8000);
    await fay.rt.send({ chatId: chat, text: 'after' }).acked;
    await waitFor('live again', () => created(gus, chat).some((m) => m.text === 'after'), 5000);
  });
});
