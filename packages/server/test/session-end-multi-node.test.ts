import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE, ParleyClient } from '@parley/sdk';
import { runParley } from './_cli.ts';
import { TestRedis, freshStore, makeInvite, member, multiNodeUnavailable, readyz, startNode, waitFor, type Member, type Node } from './_multi-node.ts';
import type { TestStore } from './_harness.ts';
import { rawSocket, type RawSocket } from './_ws.ts';

const skip = await multiNodeUnavailable();

/** Resolves with the close code, or rejects when the socket is still open after `timeoutMs`. */
async function closedWithin(socket: RawSocket, timeoutMs: number, what: string): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} still open after ${timeoutMs} ms`)), timeoutMs)));
  try {
    return await Promise.race([socket.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Two nodes on one PostgreSQL database and a Redis of the suite's own, which it stops and starts again. */
describe.skipIf(skip !== null)('sessions ending on two nodes', () => {
  let store: TestStore;
  let redis: TestRedis;
  let invite: string;
  const nodes: Node[] = [];
  const members: Member[] = [];

  beforeAll(async () => {
    [store, redis] = await Promise.all([freshStore('postgres'), TestRedis.start()]);
    invite = await makeInvite(store);
    const env = { DATABASE_URL: store.env.DATABASE_URL!, REDIS_URL: redis.url, PARLEY_LOGIN_LIMIT: '1000/60s' };
    nodes.push(...(await Promise.all(['node-a', 'node-b'].map((n) => startNode(n, env)))));
  }, 180_000);

  afterAll(async () => {
    for (const m of members) m.rt.close();
    for (const n of nodes) n.proc.kill();
    await Promise.all(nodes.map((n) => n.proc.exited));
    await redis?.stop();
    await store?.drop();
  });

  /** A second device of the member, signed in at node b, with a socket there whose client then refreshed its tokens. */
  async function refreshedSocketOnB(m: Member): Promise<{ phone: ParleyClient; socket: RawSocket }> {
    const phone = new ParleyClient({ baseUrl: nodes[1]!.url });
    await phone.login({ username: m.name, password: m.password, deviceName: 'phone' });
    const socket = await rawSocket({ url: nodes[1]!.url }, { client: phone });
    await phone.refresh();
    return { phone, socket };
  }

  it('closes on node b the socket of a session terminated on node a while Redis was down, within a second or two', async () => {
    const ann = await member(nodes[0]!.url, invite, 'ann');
    members.push(ann);
    const { phone, socket } = await refreshedSocketOnB(ann);

    await redis.stop();
    await waitFor('node b to report the bus down', async () => (await readyz(nodes[1]!.url)).body.bus === 'down');
    const terminatedAt = Date.now();
    await ann.client.terminateSession({ sessionId: phone.session!.sessionId });
    expect(await closedWithin(socket, 2500, "the terminated session's socket on node b")).toBe(CLOSE.sessionEnded);
    console.log(`without Redis, node b closed the terminated session's socket after ${Date.now() - terminatedAt} ms`);

    await redis.start();
    for (const n of nodes) await waitFor(`${n.name} to report the bus up`, async () => (await readyz(n.url)).status === 200, 15_000, 50);
  }, 60_000);

  it('closes on both nodes the sockets of a user disabled from the CLI', async () => {
    const ben = await member(nodes[0]!.url, invite, 'ben');
    members.push(ben);
    const onA = await rawSocket({ url: nodes[0]!.url }, ben);
    await ben.client.refresh();
    const { socket: onB } = await refreshedSocketOnB(ben);

    const cli = await runParley(['user', 'disable', 'ben'], { DATABASE_URL: store.env.DATABASE_URL, REDIS_URL: redis.url, LOG_LEVEL: 'silent' });
    expect(cli.code).toBe(0);
    const codes = await Promise.all([closedWithin(onA, 1500, 'the socket on node a'), closedWithin(onB, 1500, 'the socket on node b')]);
    expect(codes).toEqual([CLOSE.sessionEnded, CLOSE.sessionEnded]);
  }, 60_000);
});
