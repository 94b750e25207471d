// Types and helpers shared by the orchestrator and the load-generator processes.
import { performance } from 'node:perf_hooks';

/** A message not delivered to every member within this long counts as lost. */
export const LOSS_MS = 5000;
/** Latency histogram: 0.1 ms buckets up to the loss threshold. */
export const HIST_BUCKET_MS = 0.1;
/** A send written this much later than its scheduled time counts as a late send (generator behind). */
export const LAG_LIMIT_MS = 20;
export const HIST_SIZE = Math.ceil(LOSS_MS / HIST_BUCKET_MS) + 1;

export interface BenchUser {
  /** index in the orchestrator's user list: the send schedule rotates over it */
  index: number;
  id: string;
  token: string;
  /** the groups this user sends to, in rotation */
  chats: string[];
}

export type ToWorker =
  | { cmd: 'connect'; url: string; users: BenchUser[]; perUser: number; localAddresses: string[] }
  | { cmd: 'step'; step: number; rate: number; total: number; t0: number; order: number[] }
  | { cmd: 'progress' }
  | { cmd: 'collect' }
  | { cmd: 'close' }
  | { cmd: 'exit' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'connected'; open: number; failed: number }
  | { type: 'progress'; received: number; late: number }
  | {
      type: 'collected';
      hist: [number, number][];
      counts: Uint16Array;
      received: number;
      late: number;
      acks: number;
      errors: Record<string, number>;
      maxLagMs: number;
      lateSends: number;
      echoes: number;
      cpuUs: number;
      wallMs: number;
    }
  | { type: 'closed' };

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const PAD = 'x'.repeat(100);

/** ~100 characters of text with the step, the message number and its scheduled send time. */
export function makeText(step: number, k: number, at: number): string {
  const head = `b|${step}|${k}|${at.toFixed(3)}|`;
  return head + PAD.slice(0, Math.max(0, 100 - head.length));
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Percentile from a histogram of HIST_BUCKET_MS buckets (upper edge of the bucket). */
export function histPercentile(hist: Map<number, number>, total: number, p: number): number {
  if (total === 0) return NaN;
  const want = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const b of [...hist.keys()].sort((a, z) => a - z)) {
    seen += hist.get(b)!;
    if (seen >= want) return (b + 1) * HIST_BUCKET_MS;
  }
  return LOSS_MS;
}
