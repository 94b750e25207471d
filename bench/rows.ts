// What a run records: one row per measurement, written to the .jsonl file as it is taken and
// read back by the markdown report and the chart.
import type { ProfileSummary } from './profile-summary.ts';

export interface RunRow {
  kind: 'run';
  options: Record<string, unknown>;
  cpus: number;
  cpuModel: string | undefined;
  node: string;
  pinned: boolean;
}

export interface FanoutRow {
  kind: 'fanout';
  target: TargetName;
  store: string;
  workload: string;
  users: number;
  rate: number;
  durationS: number;
  sends: number;
  acks: number;
  deliveries: number;
  echoesToSender: number;
  deliveriesPerSec: number;
  p50: number;
  p95: number;
  p99: number;
  /** `>5000` when a delivery came after the loss deadline */
  max: number | string;
  lost: number;
  late: number;
  errors: Record<string, number>;
  serverCpuPct: number;
  serverCpuUsPerDelivery: number | null;
  serverRssMiB: number;
  generatorCpuPct: number;
  generatorSaturated: boolean;
  generatorMaxLagMs: number;
  generatorLateSends: number;
  /** the machine's 1-minute load average: other work on this shared machine shows here */
  loadAvg1: number;
  attempt: number;
  pass: boolean;
}

export interface SustainableRow {
  kind: 'sustainable';
  target: TargetName;
  store: string;
  workload: string;
  /** the last passing rate before the first failure */
  rate: number | null;
  failedAt: number | null;
}

export interface IdleRow {
  kind: 'idle';
  target: TargetName;
  store: string;
  sockets: number;
  failed: number;
  users: number;
  socketsPerUser: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  perSocketKiB: number;
}

export interface CatchupRow {
  kind: 'catchup';
  target: 'parley';
  store: string;
  changes: number;
  events: number;
  calls: number;
  ms: number;
  rawSqliteMs: number | null;
  ratio: number | null;
}

export interface PageTimes {
  latestP50: number;
  latestP99: number;
  deepP50: number;
  deepP99: number;
}

export interface HistoryRow extends PageTimes {
  kind: 'history';
  target: 'parley';
  store: string;
  messages: number;
  chats: number;
  samples: number;
  /** the same page queries straight on the SQLite file (SQLite only) */
  raw: PageTimes | null;
}

export interface ProfileRow {
  kind: 'profile';
  store: string;
  rate: number;
  file: string;
  byArea: ProfileSummary['byArea'];
  byFunction: ProfileSummary['byFunction'];
  inclusive: ProfileSummary['inclusive'];
}

export interface FilesRow {
  kind: 'files';
  target: TargetName;
  store: string;
  files: number;
  fileMiB: number;
  /** rounds measured, taking turns with the other target; the figures are their medians */
  rounds: number;
  uploadMiBps: number;
  downloadMiBps: number;
  /** the server's CPU time per MiB moved */
  uploadCpuMsPerMiB: number;
  downloadCpuMsPerMiB: number;
}

export interface ScaleOutRow {
  kind: 'scaleout';
  store: string;
  nodes: number;
  placement: 'spread' | 'grouped';
  rate: number;
  sends: number;
  deliveries: number;
  lost: number;
  p99: number;
  /** all nodes' CPU over all deliveries */
  clusterCpuUsPerDelivery: number | null;
  /** each node: CPU per delivery it wrote to its own sockets, and what the bus brought it per send */
  perNode: { cpuUsPerDelivery: number | null; deliveries: number; busBytesPerSend: number }[];
  /** Redis's network bytes (in + out) per send, everything included (rate limits, presence) */
  redisBytesPerSend: number;
}

/** One mode of the E2EE scenario: sends from A over HTTP, one at a time, until B's socket has the text (decrypted). */
export interface E2eeDeliveryRow {
  kind: 'e2ee';
  store: string;
  /** plain-paced: plaintext with the client pausing before each send as long as E2EE's encrypt + decrypt take */
  mode: 'plain' | 'plain-paced' | 'e2ee';
  /** that pause, ms */
  pauseMs: number;
  sends: number;
  /** texts the receiver read that were not what was sent (0 unless decryption is broken) */
  mismatches: number;
  /** send start → text available at the receiver (E2EE: encrypt, send, socket, decrypt), ms */
  p50: number;
  p95: number;
  p99: number;
  /** the HTTP request's start → the event at the receiver's socket: the server's part, ms */
  serverP50: number;
  serverP95: number;
  serverP99: number;
  /** the server's CPU over the sends, less what it spends idle over as long, per delivery */
  serverCpuUsPerDelivery: number;
  /** the idle share taken off (the server's CPU with nothing sent, over the same wall time) */
  idleCpuUsPerDelivery: number;
  /** this mode's server CPU per delivery over plaintext's, in the same run */
  cpuRatioToPlain: number | null;
  /** …and over plain-paced's: the server's own extra cost, the idle gaps between sends being the same */
  cpuRatioToPacedPlain: number | null;
}

/** What one MLS operation costs a client in this Node process. */
export interface E2eeClientRow {
  kind: 'e2eeClient';
  store: string;
  op: string;
  ops: number;
  p50Us: number;
  meanUs: number;
  mismatches: number;
}

export type TargetName = 'parley' | 'baseline';

export type Row =
  RunRow | FanoutRow | SustainableRow | IdleRow | CatchupRow | HistoryRow | ProfileRow | FilesRow | ScaleOutRow | E2eeDeliveryRow | E2eeClientRow;

/** The rows of one kind. */
export function rowsOf<K extends Row['kind']>(rows: readonly Row[], kind: K): Extract<Row, { kind: K }>[] {
  return rows.filter((r): r is Extract<Row, { kind: K }> => r.kind === kind);
}

/** Rounds to `digits` decimals, as every figure in a row is. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** KiB (as /proc reports them) to MiB with one decimal. */
export function mib(kib: number): number {
  return Math.round(kib / 102.4) / 10;
}
