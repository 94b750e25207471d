// Scale-out: the same total load on 1, 2 and 3 Parley nodes sharing one PostgreSQL and one Redis,
// users spread over the nodes. Per node: CPU per delivery it wrote to its sockets, and bytes the
// bus brought it; for the cluster: Redis traffic per message. Two placements of the users:
//   spread   user i on node i mod N: every group has members on every node (the worst case);
//   grouped  each group's members on one node: no delivery needs another node.
// Deliveries are routed by recipient, so a node's work per delivery should not grow with N, and
// Redis bytes per message should follow the nodes a message involves (spread: N, grouped: 1).
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { GROUP_SIZE } from '../cli.ts';
import type { BenchContext } from '../context.ts';
import type { Generator } from '../generator.ts';
import { freePort, procCpuUs, settle, stopProcess } from '../procs.ts';
import { log } from '../results.ts';
import { round, type ScaleOutRow } from '../rows.ts';
import { LOSS_MS, histPercentile, nowMs, type BenchUser } from '../shared.ts';
import type { StoreMode } from '../stores.ts';
import { parleyEnv, startParley, type ParleyInstance } from '../targets.ts';
import { merge, sendOrder } from './fanout.ts';

export type Placement = 'spread' | 'grouped';

/** Which node a user's socket goes to. */
function nodeOf(u: BenchUser, n: number, placement: Placement): number {
  return placement === 'spread' ? u.index % n : Math.floor(u.index / GROUP_SIZE) % n;
}

/** Counters read from a node's /metrics. */
async function nodeCounters(p: ParleyInstance): Promise<{ delivered: number; busBytes: number }> {
  const text = await (await fetch(`${p.url}/metrics`)).text();
  const sum = (name: string, filter = '') =>
    text
      .split('\n')
      .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(filter))
      .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
  return { delivered: sum('parley_ws_events_delivered_total'), busBytes: sum('parley_bus_received_bytes_total', 'topic="deliver"') };
}

async function redisBytes(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return field('total_net_input_bytes') + field('total_net_output_bytes');
}

export async function* scaleOut(
  ctx: BenchContext,
  { gen, store, users, rate, nodeCounts }: { gen: Generator; store: StoreMode; users: BenchUser[]; rate: number; nodeCounts: readonly number[] },
): AsyncGenerator<ScaleOutRow> {
  const redis = new Redis(store.redisUrl!, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    for (const n of nodeCounts) {
      const nodes: ParleyInstance[] = [];
      try {
        for (let i = 0; i < n; i++) {
          const port = await freePort();
          const dataDir = `${ctx.tmpRoot}/scale-${n}-${i}`;
          const env = { ...parleyEnv(store, { dataDir, port }), PARLEY_NODE_ID: `bench-${i + 1}` };
          nodes.push(await startParley(ctx, { env, store: `${store.name}-node${i + 1}of${n}`, dataDir }));
        }
        for (const placement of ['spread', 'grouped'] as const) yield await measure(ctx, { gen, redis, nodes, users, rate, placement, storeName: store.name });
      } finally {
        for (const p of nodes) await stopProcess(p.proc);
      }
    }
  } finally {
    redis.disconnect();
  }
}

async function measure(
  ctx: BenchContext,
  {
    gen,
    redis,
    nodes,
    users,
    rate,
    placement,
    storeName,
  }: { gen: Generator; redis: Redis; nodes: ParleyInstance[]; users: BenchUser[]; rate: number; placement: Placement; storeName: string },
): Promise<ScaleOutRow> {
  const n = nodes.length;
  for (let i = 0; i < n; i++) {
    const c = await gen.connect(
      nodes[i]!.wsUrl,
      users.filter((u) => nodeOf(u, n, placement) === i),
    );
    if (c.failed) throw new Error(`${c.failed} sockets failed to connect to node ${i + 1}`);
  }
  for (const p of nodes) await settle(p.proc.pid!);
  const { duration } = ctx.options;
  const total = Math.round(rate * duration);
  const before = await Promise.all(nodes.map(nodeCounters));
  const bytes0 = await redisBytes(redis);
  const t0 = nowMs() + 300;
  await sleep(Math.max(0, t0 - nowMs() - 50));
  const cpu0 = nodes.map((p) => procCpuUs(p.proc.pid!));
  gen.broadcast({ cmd: 'step', step: Math.floor(Math.random() * 1e6), rate, total, t0, order: sendOrder(users.length) });
  await sleep(t0 + duration * 1000 - nowMs());
  const expected = total * (GROUP_SIZE - 1);
  const deadline = t0 + duration * 1000 + LOSS_MS + 300;
  while ((await gen.progress()).reduce((a, p) => a + p.received, 0) < expected && nowMs() < deadline) await sleep(100);
  const cpu = nodes.map((p, i) => procCpuUs(p.proc.pid!) - cpu0[i]!);
  const bytes = (await redisBytes(redis)) - bytes0;
  const after = await Promise.all(nodes.map(nodeCounters));
  const m = merge(await gen.collect(), total);
  await gen.close();

  const onTime = m.received - m.late;
  const perNode = nodes.map((_, i) => {
    const delivered = after[i]!.delivered - before[i]!.delivered;
    return {
      cpuUsPerDelivery: delivered > 0 ? round(cpu[i]! / delivered, 2) : null,
      deliveries: delivered,
      busBytesPerSend: round((after[i]!.busBytes - before[i]!.busBytes) / total, 1),
    };
  });
  const row: ScaleOutRow = {
    kind: 'scaleout',
    store: storeName,
    nodes: n,
    placement,
    rate,
    sends: total,
    deliveries: m.received,
    lost: m.lost,
    p99: round(histPercentile(m.hist, onTime, 99), 2),
    clusterCpuUsPerDelivery: m.received > 0 ? round(cpu.reduce((a, b) => a + b, 0) / m.received, 2) : null,
    perNode,
    redisBytesPerSend: round(bytes / total, 1),
  };
  log(
    `scale-out ${n} node(s), ${placement}, R=${rate}: p99 ${row.p99} ms, lost ${row.lost}; ` +
      `per node µs/delivery ${perNode.map((p) => p.cpuUsPerDelivery).join(' / ')}; ` +
      `bus bytes per send per node ${perNode.map((p) => p.busBytesPerSend).join(' / ')}; Redis ${row.redisBytesPerSend} B/send`,
  );
  return row;
}
