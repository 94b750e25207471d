import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Message } from '@parley/sdk';
import { childEnv, spawnServe } from './_cli.ts';
import { FrontDoor, TestRedis, created, freshStore, member, multiNodeUnavailable, waitFor, type Member } from './_multi-node.ts';
import { extractRelease, releaseUnavailable, type Release } from './_release.ts';
import type { TestStore } from './_harness.ts';
import { migrations } from '../src/adapters/db/migrations.ts';

/** An earlier version of main that runs side by side with this one during the upgrade. */
interface VersionN {
  sha: string;
  /** the migrations N applies: its schema */
  schema: string;
  /** a word of this version's OpenAPI document that N's does not have, to tell the nodes apart */
  newer: string;
}

/**
 * Two versions N, each upgraded to this one under load:
 * - main just before profile pictures were merged, at schema 004_files: this version applies every
 *   later migration (005 on) when its first node starts, while N still serves. Since then the SDK
 *   changed for files (attachments in the outbox, uploads) and end-to-end encryption; its HTTP
 *   client, connection and realtime client are N's, so these text-sending clients stand for N's.
 * - main just before the MLS delivery service was merged, at schema 010_calls: the previous
 *   release in the sense of the N / N+1 rule, on which this version adds 011_mls_groups (chats.e2ee
 *   and mls_epoch, the group tables) while N keeps writing chats and messages.
 */
const VERSIONS: VersionN[] = [
  { sha: '781fd642743faf1db6a114595e814563a8fb79ca', schema: '004_files', newer: 'avatarFileId' },
  { sha: '4b363247803949aedacb900b6bc7fff092eb6cc7', schema: '010_calls', newer: 'postCommit' },
];

const multiNode = await multiNodeUnavailable();

interface RunningNode {
  name: string;
  version: 'N' | 'N+1';
  port: number;
  proc: Awaited<ReturnType<typeof spawnServe>>;
}

describe.each(VERSIONS)('a rolling upgrade of two nodes under load from $schema', ({ sha: N, schema, newer }) => {
  const skip = multiNode ?? releaseUnavailable(N);
  let release: Release;
  let store: TestStore;
  let redis: TestRedis;
  let env: Record<string, string>;
  const nodes: RunningNode[] = [];
  const doors: FrontDoor[] = [];
  const members: Member[] = [];

  async function startNode(name: string, version: 'N' | 'N+1'): Promise<RunningNode> {
    const nodeEnv = { ...env, PORT: '0', HOST: '127.0.0.1', PARLEY_NODE_ID: name };
    const proc = await spawnServe(nodeEnv, 90_000, version === 'N' ? release : undefined);
    const node = { name, version, port: Number(new URL(proc.url).port), proc };
    nodes.push(node);
    return node;
  }

  /** SIGTERM, as an orchestrator stops a node: sockets close with 1001, writes in flight finish. */
  async function stopNode(node: RunningNode): Promise<void> {
    node.proc.child.kill('SIGTERM');
    const exit = await Promise.race([node.proc.exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    expect(exit, `${node.name} (${node.version}) stops on SIGTERM; stderr: ${node.proc.stderr()}`).toEqual({ code: 0, signal: null });
  }

  /** parley_messages_sent_total of one node, summed over its labels. */
  async function messagesSent(port: number): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => /^parley_messages_sent_total[{ ]/.test(l))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  }

  async function appliedMigrations(): Promise<string[]> {
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      return (await client.query<{ name: string }>('select name from kysely_migration order by name')).rows.map((r) => r.name);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    if (skip !== null) return;
    release = extractRelease(N);
    [store, redis] = await Promise.all([freshStore('postgres'), TestRedis.start()]);
    env = {
      ...(store.env as Record<string, string>),
      REDIS_URL: redis.url,
      PARLEY_MESSAGE_RATE: '100000/10s',
      PARLEY_WRITE_RATE: '100000/10s',
      PARLEY_LOGIN_LIMIT: '1000/60s',
      LOG_LEVEL: 'warn',
    };
  }, 60_000);

  afterAll(async () => {
    for (const m of members) m.rt.close();
    for (const d of doors) await d.cut();
    for (const n of nodes) n.proc.kill();
    await Promise.all(nodes.map((n) => n.proc.exited));
    await redis?.stop();
    await store?.drop();
    release?.remove();
  });

  it.skipIf(skip !== null)(
    'loses no acked message, duplicates none, and every client catches up by itself',
    async () => {
      const invite = execFileSync(process.execPath, [release.bin, 'invite', 'create', '--uses', '50'], {
        cwd: release.root,
        env: childEnv(env),
        encoding: 'utf8',
      }).trim();
      // Version N makes its schema and the invite, as a deployment of N did.
      const levels = Object.keys(migrations).sort();
      expect(await appliedMigrations()).toEqual(levels.slice(0, levels.indexOf(schema) + 1));
      const [n1, n2] = await Promise.all([startNode('node-1', 'N'), startNode('node-2', 'N')]);
      // Two load balancer entries, each preferring one node and falling back to the other.
      const [toOne, toTwo] = await Promise.all([FrontDoor.open([n1!.port, n2!.port]), FrontDoor.open([n2!.port, n1!.port])]);
      doors.push(toOne!, toTwo!);

      const names = ['ann', 'ben', 'cyd', 'dan', 'eve', 'fay'];
      for (const [i, name] of names.entries()) members.push(await member((i % 2 ? toTwo! : toOne!).url, invite, name));
      const [ann, ben] = members as [Member, Member];
      const others = members.slice(1).map((m) => m.id);
      const chats = [
        (await ann.client.createGroup({ title: 'Upgrade A', memberIds: others })).id,
        (await ben.client.createGroup({ title: 'Upgrade B', memberIds: members.filter((m) => m !== ben).map((m) => m.id) })).id,
      ];
      const onlineCount = new Map<Member, number>();
      for (const m of members) m.rt.on('state', (s) => s === 'online' && onlineCount.set(m, (onlineCount.get(m) ?? 0) + 1));
      await Promise.all(members.map((m) => m.rt.connect()));

      // Four senders, each with one send in flight at a time through its realtime outbox (which retries
      // with the same client id across reconnects); an acked send is recorded with its message.
      const acked: Message[] = [];
      const failed: string[] = [];
      let sending = true;
      const senders = members.slice(0, 4).map(async (m, s) => {
        for (let i = 0; sending; i++) {
          const chatId = chats[(i + s) % chats.length]!;
          try {
            acked.push(await m.rt.send({ chatId, text: `${m.name} ${i}` }).acked);
          } catch (err) {
            failed.push(`${m.name} ${i}: ${(err as Error).message}`);
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      });
      const ackedBy = async (count: number, what: string) => waitFor(what, () => acked.length >= count, 20_000);

      await ackedBy(40, 'load on version N');
      const started = Date.now();
      await stopNode(n1!);
      const n1New = await startNode('node-1', 'N+1');
      // This version applies all of its own on top.
      expect(await appliedMigrations()).toEqual(levels);
      // Each node runs the version it is said to: what came after N is in one document only.
      const describes = async (port: number) => (await (await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`)).text()).includes(newer);
      expect([await describes(n1New.port), await describes(n2!.port)]).toEqual([true, false]);
      toOne!.targets = [n1New.port, n2!.port];
      toTwo!.targets = [n2!.port, n1New.port];
      // node-1's clients fell back to node-2 while it was down; the balancer moves them back, so that
      // both versions take sends side by side.
      await toOne!.cut();
      await toOne!.open();
      const sentOnOldNode = await messagesSent(n2!.port);
      const mixed = acked.length;
      await ackedBy(mixed + 40, 'load on a mixed cluster (N and N+1)');
      expect(await messagesSent(n1New.port), 'sends taken by N+1 on the mixed cluster').toBeGreaterThan(0);
      expect((await messagesSent(n2!.port)) - sentOnOldNode, 'sends taken by N on the mixed cluster').toBeGreaterThan(0);

      await stopNode(n2!);
      const n2New = await startNode('node-2', 'N+1');
      toTwo!.targets = [n2New.port, n1New.port];
      const upgraded = acked.length;
      await ackedBy(upgraded + 40, 'load on version N+1');
      sending = false;
      await Promise.all(senders);
      console.log(
        `rolling upgrade from ${schema}: ${acked.length} sends acked (${mixed} until node-1 ran N+1, ${upgraded - mixed} until node-2 did, ${acked.length - upgraded} after), ${failed.length} failed, upgrade took ${Date.now() - started} ms`,
      );
      expect(failed).toEqual([]);

      // The store: each acked message exactly once, at its position, and every chat's positions gap-free.
      const db = new pg.Client({ connectionString: env.DATABASE_URL });
      await db.connect();
      try {
        for (const chatId of chats) {
          const mine = acked.filter((m) => m.chatId === chatId);
          const rows = (await db.query<{ id: string; seq: number }>('select id, seq::int from messages where chat_id = $1', [chatId])).rows;
          const found = new Map(rows.map((r) => [r.id, r.seq]));
          expect(
            mine.filter((m) => found.get(m.id) !== m.seq).map((m) => m.id),
            'acked messages missing or moved',
          ).toEqual([]);
          expect(rows.length, 'no message beyond the acked ones').toBe(mine.length);
          const texts = (await db.query<{ text: string }>('select text from messages where chat_id = $1', [chatId])).rows.map((r) => r.text);
          expect(new Set(texts).size, 'no send stored twice').toBe(texts.length);
          const positions = (await db.query<{ seq: number }>('select seq::int from chat_events where chat_id = $1 order by seq', [chatId])).rows.map(
            (r) => r.seq,
          );
          const lastSeq = (await db.query<{ last_seq: number }>('select last_seq::int from chats where id = $1', [chatId])).rows[0]!.last_seq;
          expect(positions).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
        }
      } finally {
        await db.end();
      }

      // Every client lost its node at least once (both nodes restarted), came back on its own, and its sync
      // applied each acked message once, in position order.
      for (const m of members) {
        await waitFor(
          `${m.name} to catch up`,
          () => chats.every((chatId) => created(m, chatId).length === acked.filter((a) => a.chatId === chatId).length),
          20_000,
          100,
        );
        expect(onlineCount.get(m) ?? 0, `${m.name} reconnected`).toBeGreaterThanOrEqual(2);
        for (const chatId of chats) {
          const seen = created(m, chatId);
          expect(seen.map((x) => x.seq)).toEqual([...seen.map((x) => x.seq)].sort((a, b) => a - b));
          expect(new Set(seen.map((x) => x.id))).toEqual(new Set(acked.filter((a) => a.chatId === chatId).map((a) => a.id)));
        }
      }
    },
    120_000,
  );
});
