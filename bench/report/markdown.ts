// The run's tables in markdown (bench/results/bench-<time>.md): fan-out with each Parley step's
// CPU per delivery against the baseline's at the same rate, idle memory, catch-up, history, and
// the CPU profile.
import os from 'node:os';
import { GROUP_SIZE, type BenchOptions } from '../cli.ts';
import type { Pinning } from '../procs.ts';
import {
  rowsOf,
  type CatchupRow,
  type E2eeClientRow,
  type E2eeDeliveryRow,
  type FanoutRow,
  type FilesRow,
  type HistoryRow,
  type ScaleOutRow,
  type IdleRow,
  type ProfileRow,
  type Row,
} from '../rows.ts';
import { LAG_LIMIT_MS } from '../shared.ts';

export function markdownReport(rows: readonly Row[], { options, pinning }: { options: BenchOptions; pinning: Pinning }): string {
  const lines = [`# Parley benchmark, ${new Date().toISOString()}`, '', machine(rows), command(options, pinning), ''];
  lines.push(...fanoutSection(rowsOf(rows, 'fanout'), rows));
  lines.push(...idleSection(rowsOf(rows, 'idle')));
  lines.push(...catchupSection(rowsOf(rows, 'catchup')));
  lines.push(...historySection(rowsOf(rows, 'history')));
  lines.push(...e2eeSection(rowsOf(rows, 'e2ee'), rowsOf(rows, 'e2eeClient')));
  lines.push(...filesSection(rowsOf(rows, 'files')));
  lines.push(...scaleOutSection(rowsOf(rows, 'scaleout')));
  for (const r of rowsOf(rows, 'profile')) lines.push(...profileSection(r));
  return lines.join('\n');
}

function machine(rows: readonly Row[]): string {
  const cpu = os.cpus();
  const loads = rowsOf(rows, 'fanout').map((r) => r.loadAvg1);
  const load = loads.length
    ? ` 1-minute load average during the fan-out steps: ${Math.min(...loads)}–${Math.max(...loads)} (other work shares this machine).`
    : '';
  const ram = (os.totalmem() / 2 ** 30).toFixed(1);
  const model = cpu[0]?.model ?? 'unknown CPU';
  return `Machine: ${cpu.length} × ${model}, ${ram} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}.${load}`;
}

function command(o: BenchOptions, pinning: Pinning): string {
  const pins = pinning.pinned
    ? `server pinned to CPU ${pinning.serverCpus}, generator (${o.workers} processes) to CPU ${pinning.generatorCpus}`
    : 'no CPU pinning';
  const args = o.argv.length ? ' -- ' + o.argv.join(' ') : '';
  return `Command: \`npm run bench${args}\`. Users ${o.users}, groups of ${GROUP_SIZE}, ${o.duration} s per step; ${pins}.`;
}

const FANOUT_COLUMNS = [
  'target',
  'workload',
  'rate (sends/s)',
  'deliveries/s',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'max ms',
  'lost',
  'server CPU %',
  'server µs/delivery',
  'ratio to baseline',
  'server RSS MiB',
  'generator CPU %',
  `sends >${LAG_LIMIT_MS} ms late / max lag ms`,
  'pass',
];

function fanoutSection(fan: FanoutRow[], rows: readonly Row[]): string[] {
  if (!fan.length) return [];
  const lines = ['## Fan-out', '', ...header(FANOUT_COLUMNS)];
  for (const r of fan) {
    lines.push(
      tableRow([
        `${r.target}/${r.store}`,
        r.workload,
        r.rate,
        r.deliveriesPerSec,
        fmt(r.p50),
        fmt(r.p95),
        fmt(r.p99),
        fmt(r.max),
        r.lost,
        fmt(r.serverCpuPct),
        fmt(r.serverCpuUsPerDelivery),
        ratioToBaseline(r, fan),
        fmt(r.serverRssMiB),
        `${fmt(r.generatorCpuPct)}${r.generatorSaturated ? ' (saturated)' : ''}`,
        `${r.generatorLateSends} / ${fmt(r.generatorMaxLagMs)}`,
        `${r.pass ? 'yes' : 'no'}${r.attempt === 2 ? ' (retry)' : ''}`,
      ]),
    );
  }
  lines.push('');
  for (const s of rowsOf(rows, 'sustainable')) {
    const deliveries = s.rate ? ` (${s.rate * (GROUP_SIZE - 1)} deliveries/s)` : '';
    lines.push(`- Sustainable rate, ${s.target}/${s.store} ${s.workload}: ${s.rate ?? 'none of the rates'} sends/s${deliveries}`);
  }
  lines.push('');
  return lines;
}

/** A Parley step's CPU per delivery over the baseline's at the same workload and rate, in this run. */
function ratioToBaseline(r: FanoutRow, fan: FanoutRow[]): string {
  const b = fan.find((x) => x.target === 'baseline' && x.workload === r.workload && x.rate === r.rate);
  if (r.target !== 'parley' || !b || b.serverCpuUsPerDelivery === null || r.serverCpuUsPerDelivery === null) return '';
  return `${(r.serverCpuUsPerDelivery / b.serverCpuUsPerDelivery).toFixed(1)}×`;
}

function idleSection(idle: IdleRow[]): string[] {
  if (!idle.length) return [];
  const lines = ['## Idle memory', '', ...header(['target', 'sockets', 'users', 'RSS before MiB', 'RSS after MiB', 'KiB per socket'])];
  for (const r of idle) {
    const target = r.target === 'baseline' ? 'bare ws server' : `${r.target}/${r.store}`;
    lines.push(tableRow([target, r.sockets, r.users, r.rssBeforeMiB, r.rssAfterMiB, r.perSocketKiB]));
  }
  lines.push('');
  return lines;
}

function catchupSection(cu: CatchupRow[]): string[] {
  if (!cu.length) return [];
  const columns = ['store', 'changes', 'events received', 'getChanges calls', 'ms', 'raw SQLite read ms', 'ratio'];
  const lines = ['## Catch-up', '', ...header(columns)];
  for (const r of cu) lines.push(tableRow([r.store, r.changes, r.events, r.calls, r.ms, fmt(r.rawSqliteMs), r.ratio ? `${r.ratio}×` : '']));
  lines.push('');
  return lines;
}

/** 1, 2, 3 nodes under the same load: each node's CPU per delivery, and bus and Redis bytes per message. */
function scaleOutSection(so: ScaleOutRow[]): string[] {
  if (!so.length) return [];
  const columns = [
    'store',
    'nodes',
    'placement',
    'sends/s',
    'lost',
    'p99 ms',
    'µs/delivery per node',
    'cluster µs/delivery',
    'bus B/send per node',
    'Redis B/send',
  ];
  const lines = ['## Scale-out', '', ...header(columns)];
  for (const r of so)
    lines.push(
      tableRow([
        r.store,
        r.nodes,
        r.placement,
        r.rate,
        r.lost,
        r.p99,
        r.perNode.map((p) => fmt(p.cpuUsPerDelivery)).join(' / '),
        fmt(r.clusterCpuUsPerDelivery),
        r.perNode.map((p) => p.busBytesPerSend).join(' / '),
        r.redisBytesPerSend,
      ]),
    );
  lines.push('');
  return lines;
}

/** Private-chat sends, plaintext beside E2EE on one server, and what each MLS operation costs a client in Node. */
function e2eeSection(sends: E2eeDeliveryRow[], ops: E2eeClientRow[]): string[] {
  if (!sends.length && !ops.length) return [];
  const columns = [
    'store',
    'mode',
    'sends',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'server part p50/p95/p99 ms',
    'server µs/delivery (idle taken off)',
    'ratio to plain / paced',
    'mismatches',
  ];
  const lines = ['## End-to-end encryption', '', ...header(columns)];
  for (const r of sends)
    lines.push(
      tableRow([
        r.store,
        r.pauseMs ? `${r.mode} (${fmt(r.pauseMs)} ms pause)` : r.mode,
        r.sends,
        fmt(r.p50),
        fmt(r.p95),
        fmt(r.p99),
        `${fmt(r.serverP50)} / ${fmt(r.serverP95)} / ${fmt(r.serverP99)}`,
        `${fmt(r.serverCpuUsPerDelivery)} (${fmt(r.idleCpuUsPerDelivery)})`,
        `${fmt(r.cpuRatioToPlain)}× / ${fmt(r.cpuRatioToPacedPlain)}×`,
        r.mismatches,
      ]),
    );
  lines.push('', ...header(['store', 'client operation (Node)', 'repetitions', 'µs p50', 'µs mean', 'mismatches']));
  for (const r of ops) lines.push(tableRow([r.store, r.op, r.ops, fmt(r.p50Us), fmt(r.meanUs), r.mismatches]));
  lines.push('');
  return lines;
}

/** Parley's file transfers beside the bare file server's: throughput as a share of the floor's, CPU per MiB as a multiple. */
function filesSection(fi: FilesRow[]): string[] {
  if (!fi.length) return [];
  const base = fi.find((r) => r.target === 'baseline');
  const share = (v: number, b: number | undefined) => (b ? `${Math.round((100 * v) / b)} %` : '');
  const times = (v: number, b: number | undefined) => (b ? `${(v / b).toFixed(1)}×` : '');
  const columns = ['target', 'store', 'files', 'upload MiB/s', 'of floor', 'CPU ms/MiB', '× floor', 'download MiB/s', 'of floor', 'CPU ms/MiB', '× floor'];
  const lines = ['## File transfers', '', ...header(columns)];
  for (const r of fi)
    lines.push(
      tableRow([
        r.target,
        r.store,
        `${r.files} × ${r.fileMiB} MiB`,
        r.uploadMiBps,
        share(r.uploadMiBps, base?.uploadMiBps),
        r.uploadCpuMsPerMiB,
        times(r.uploadCpuMsPerMiB, base?.uploadCpuMsPerMiB),
        r.downloadMiBps,
        share(r.downloadMiBps, base?.downloadMiBps),
        r.downloadCpuMsPerMiB,
        times(r.downloadCpuMsPerMiB, base?.downloadCpuMsPerMiB),
      ]),
    );
  lines.push('');
  return lines;
}

function historySection(hi: HistoryRow[]): string[] {
  if (!hi.length) return [];
  const columns = [
    'store',
    'messages',
    'chats',
    'latest p50 ms',
    'latest p99 ms',
    'deep p50 ms',
    'deep p99 ms',
    'raw SQLite latest p50/p99',
    'raw deep p50/p99',
  ];
  const lines = ['## History paging (100 messages a page)', '', ...header(columns)];
  for (const r of hi) {
    const { raw } = r;
    lines.push(
      tableRow([
        r.store,
        r.messages,
        r.chats,
        r.latestP50,
        r.latestP99,
        r.deepP50,
        r.deepP99,
        raw ? `${raw.latestP50} / ${raw.latestP99}` : '',
        raw ? `${raw.deepP50} / ${raw.deepP99}` : '',
      ]),
    );
  }
  lines.push('');
  return lines;
}

function profileSection(r: ProfileRow): string[] {
  return [
    `## CPU profile (${r.store}, ${r.rate} sends/s)`,
    '',
    `\`${r.file}\``,
    '',
    ...header(['self %', 'area']),
    ...r.byArea.map((a) => tableRow([a.pct, a.area])),
    '',
    ...header(['self %', 'function']),
    ...r.byFunction.map((f) => tableRow([f.pct, `\`${f.name}\` ${f.where}`])),
    '',
    ...header(['inclusive %', 'server function']),
    ...r.inclusive.map((f) => tableRow([f.pct, `\`${f.name}\``])),
    '',
  ];
}

function header(columns: string[]): string[] {
  return [tableRow(columns), `|${'---|'.repeat(columns.length)}`];
}

function tableRow(cells: (string | number | null)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
  return String(v);
}
