// Fan-out, open loop: for each rate R, message k is sent at t0 + k/R by rotating users, and every
// receiving socket notes when it arrived. A step fails on any loss, any error frame, or a p99
// over the limit; a failed step is run once more (the machine is shared), and the series stops
// at the second failure.
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { GROUP_SIZE } from '../cli.ts';
import type { BenchContext } from '../context.ts';
import type { Generator } from '../generator.ts';
import { procCpuUs, procRssKiB, settle } from '../procs.ts';
import { log } from '../results.ts';
import { mib, round, type FanoutRow, type SustainableRow } from '../rows.ts';
import { HIST_BUCKET_MS, LAG_LIMIT_MS, LOSS_MS, histPercentile, nowMs, type BenchUser, type FromWorker } from '../shared.ts';
import type { Target } from '../targets.ts';

/** One series: a target, the sockets the generator holds for its users, and a workload name. */
export interface FanoutSetup {
  ctx: BenchContext;
  gen: Generator;
  target: Target;
  workload: string;
  users: BenchUser[];
}

interface Step {
  stepNo: number;
  rate: number;
  attempt: number;
}

/** What the orchestrator saw of a step: the server's and the generator's CPU over it, peak RSS. */
interface StepWindow {
  total: number;
  wallMs: number;
  serverCpuUs: number;
  generatorCpuUs: number;
  rssPeakKiB: number;
  parts: Extract<FromWorker, { type: 'collected' }>[];
}

/** The workers' figures added up. */
interface Merged {
  hist: Map<number, number>;
  maxBucket: number;
  lost: number;
  received: number;
  late: number;
  acks: number;
  maxLagMs: number;
  lateSends: number;
  echoes: number;
  errors: Record<string, number>;
}

/**
 * Rising rates until the first failing step (tried twice); yields each step's row, then the
 * sustainable rate. With `through`, the series goes on past a failure up to that rate, so the
 * baseline has a figure at every rate Parley ran.
 */
export async function* fanoutSeries(
  s: FanoutSetup,
  { rates, through = 0 }: { rates: readonly number[]; through?: number },
): AsyncGenerator<FanoutRow | SustainableRow> {
  let sustainable: number | null = null;
  let failedAt: number | null = null;
  let stepNo = Math.floor(Math.random() * 1000) * 100;
  for (const rate of rates) {
    let row = await fanoutStep(s, { stepNo: stepNo++, rate, attempt: 1 });
    yield row;
    // The machine is shared: a failed step is tried once more before the series stops.
    if (!row.pass) {
      row = await fanoutStep(s, { stepNo: stepNo++, rate, attempt: 2 });
      yield row;
    }
    if (!row.pass) {
      failedAt ??= rate;
      if (rate >= through) break;
      continue;
    }
    if (failedAt === null) sustainable = rate;
  }
  const { target, workload } = s;
  yield { kind: 'sustainable', target: target.name, store: target.store, workload, rate: sustainable, failedAt };
}

/** One step at one rate: runs it, waits for the server to go idle again, returns its row. */
export async function fanoutStep(s: FanoutSetup, step: Step): Promise<FanoutRow> {
  const window = await drive(s, step);
  const row = fanoutRow(s, { step, window, merged: merge(window.parts, window.total) });
  log(describe(row));
  // Let the server settle before the next step: a step it fell behind on leaves a backlog that
  // would otherwise be billed to the next one.
  await settle(s.target.proc.pid!);
  return row;
}

/** Starts the schedule in every worker, waits for the deliveries (or the loss deadline), collects. */
async function drive({ ctx, gen, target, users }: FanoutSetup, { stepNo, rate }: Step): Promise<StepWindow> {
  const { duration } = ctx.options;
  const total = Math.round(rate * duration);
  const expected = total * (GROUP_SIZE - 1);
  const order = sendOrder(users.length);
  const pid = target.proc.pid!;
  const t0 = nowMs() + 300;
  await sleep(Math.max(0, t0 - nowMs() - 50));
  const cpu0 = procCpuUs(pid);
  const gen0 = gen.cpuUs();
  const wall0 = nowMs();
  gen.broadcast({ cmd: 'step', step: stepNo, rate, total, t0, order });
  await sleep(t0 + duration * 1000 - nowMs());
  const deadline = t0 + duration * 1000 + LOSS_MS + 300;
  let rssPeakKiB = procRssKiB(pid);
  for (;;) {
    const progress = await gen.progress();
    rssPeakKiB = Math.max(rssPeakKiB, procRssKiB(pid));
    if (progress.reduce((a, p) => a + p.received, 0) >= expected || nowMs() > deadline) break;
    await sleep(100);
  }
  const serverCpuUs = procCpuUs(pid) - cpu0;
  const generatorCpuUs = gen.cpuUs() - gen0;
  const wallMs = nowMs() - wall0;
  return { total, wallMs, serverCpuUs, generatorCpuUs, rssPeakKiB, parts: await gen.collect() };
}

/** Orders users so that consecutive messages go to different groups. */
export function sendOrder(n: number): number[] {
  const groups = n / GROUP_SIZE;
  return Array.from({ length: n }, (_, j) => (j % groups) * GROUP_SIZE + Math.floor(j / groups));
}

export function merge(parts: StepWindow['parts'], total: number): Merged {
  const m: Merged = {
    hist: new Map(),
    maxBucket: -1,
    lost: 0,
    received: 0,
    late: 0,
    acks: 0,
    maxLagMs: 0,
    lateSends: 0,
    echoes: 0,
    errors: {},
  };
  const counts = new Uint32Array(total);
  for (const part of parts) {
    for (const [b, c] of part.hist) {
      m.hist.set(b, (m.hist.get(b) ?? 0) + c);
      m.maxBucket = Math.max(m.maxBucket, b);
    }
    for (let k = 0; k < total; k++) counts[k]! += part.counts[k]!;
    m.received += part.received;
    m.late += part.late;
    m.acks += part.acks;
    m.maxLagMs = Math.max(m.maxLagMs, part.maxLagMs);
    m.lateSends += part.lateSends;
    m.echoes += part.echoes;
    for (const [code, n] of Object.entries(part.errors)) m.errors[code] = (m.errors[code] ?? 0) + n;
  }
  // A message not delivered to every other member in time is lost.
  for (let k = 0; k < total; k++) if (counts[k]! < GROUP_SIZE - 1) m.lost++;
  return m;
}

function fanoutRow(
  { ctx, target, workload, users }: FanoutSetup,
  { step, window: w, merged: m }: { step: Step; window: StepWindow; merged: Merged },
): FanoutRow {
  const { options, procs } = ctx;
  const onTime = m.received - m.late;
  const p = (q: number) => round(histPercentile(m.hist, onTime, q), 2);
  const pct = (cpuUs: number) => Math.round((cpuUs / (w.wallMs * 1000)) * 1000) / 10;
  const genCores = procs.pinning.pinned ? Math.max(1, os.cpus().length - 1) : os.cpus().length;
  const generatorCpuPct = pct(w.generatorCpuUs);
  const row: FanoutRow = {
    kind: 'fanout',
    target: target.name,
    store: target.store,
    workload,
    users: users.length,
    rate: step.rate,
    durationS: options.duration,
    sends: w.total,
    acks: m.acks,
    deliveries: m.received,
    echoesToSender: m.echoes,
    deliveriesPerSec: Math.round(m.received / options.duration),
    p50: p(50),
    p95: p(95),
    p99: p(99),
    max: m.late > 0 ? `>${LOSS_MS}` : round((m.maxBucket + 1) * HIST_BUCKET_MS, 1),
    lost: m.lost,
    late: m.late,
    errors: m.errors,
    serverCpuPct: pct(w.serverCpuUs),
    serverCpuUsPerDelivery: m.received > 0 ? round(w.serverCpuUs / m.received, 2) : null,
    serverRssMiB: mib(w.rssPeakKiB),
    generatorCpuPct,
    generatorSaturated: generatorCpuPct > 85 * genCores,
    generatorMaxLagMs: round(m.maxLagMs, 1),
    generatorLateSends: m.lateSends,
    loadAvg1: round(os.loadavg()[0]!, 1),
    attempt: step.attempt,
    pass: false,
  };
  row.pass = m.lost === 0 && Object.keys(m.errors).length === 0 && row.p99 <= options.p99LimitMs;
  return row;
}

function describe(r: FanoutRow): string {
  const errors = Object.keys(r.errors).length ? ` errors ${JSON.stringify(r.errors)}` : '';
  return (
    `${r.target}/${r.store} ${r.workload} R=${r.rate}: ${r.deliveriesPerSec} deliveries/s ` +
    `p50 ${r.p50} p99 ${r.p99} max ${r.max} ms, lost ${r.lost}, ` +
    `server ${r.serverCpuPct}% CPU ${r.serverCpuUsPerDelivery} µs/delivery, rss ${r.serverRssMiB} MiB, ` +
    `generator ${r.generatorCpuPct}%${r.generatorSaturated ? ' (SATURATED)' : ''} lag max ${r.generatorMaxLagMs} ms, ` +
    `${r.generatorLateSends} sends >${LAG_LIMIT_MS} ms late${errors}`
  );
}
