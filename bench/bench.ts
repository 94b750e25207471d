// Parley benchmark: fan-out throughput and latency, CPU per delivery, idle memory per socket,
// catch-up and history paging, each next to a baseline measured in the same run.
//
//   npm run bench                 full run (SQLite; PostgreSQL + Redis too when DATABASE_URL / REDIS_URL are set)
//   npm run bench -- --quick      ~1 minute smoke run with small numbers, no thresholds
//
// Options: --users N  --rates a,b,c  --duration S  --variant-rates a,b  --idle N  --catchup N
//          --history-messages N  --history-chats N  --workers N  --no-pin
//          --skip sqlite,fanout,variant,baseline,idle,catchup,profile,history
import { spawn, execFileSync, fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import SQLite from 'better-sqlite3';
import type { BenchUser, FromWorker, ToWorker } from './shared.ts';
import { histPercentile, LAG_LIMIT_MS, LOSS_MS, makeText, nowMs, percentile, HIST_BUCKET_MS } from './shared.ts';
import { formatSummary, summarise } from './profile-summary.ts';
import { renderChart } from './chart.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const PARLEY_BIN = path.join(root, 'packages/server/bin/parley.mjs');

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const nums = (s: string | undefined, fallback: number[]) => (s ? s.split(',').map(Number) : fallback);
const quick = flag('quick');
const O = {
  quick,
  users: Number(opt('users') ?? (quick ? 100 : 1000)),
  rates: nums(opt('rates'), quick ? [100, 400] : [100, 250, 500, 1000, 1500, 2000, 3000, 4000, 6000]),
  variantRates: nums(opt('variant-rates'), quick ? [200] : [100, 250, 500, 1000, 2000, 3000]),
  duration: Number(opt('duration') ?? (quick ? 3 : 8)),
  idle: Number(opt('idle') ?? (quick ? 1000 : 10_000)),
  catchup: Number(opt('catchup') ?? (quick ? 1000 : 10_000)),
  historyMessages: Number(opt('history-messages') ?? (quick ? 20_000 : 1_000_000)),
  historyChats: Number(opt('history-chats') ?? (quick ? 100 : 1000)),
  historySamples: Number(opt('history-samples') ?? (quick ? 100 : 2000)),
  workers: Number(opt('workers') ?? 2),
  pin: !flag('no-pin'),
  skip: new Set((opt('skip') ?? '').split(',').filter(Boolean)),
  p99LimitMs: 200,
};
if (O.users % 20 !== 0) throw new Error('--users must be a multiple of 20 (groups of 20)');
const GROUP = 20;

// ---------------------------------------------------------------- output

const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const resultsDir = path.join(here, 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const jsonlFile = path.join(resultsDir, `bench-${stamp}.jsonl`);
const mdFile = path.join(resultsDir, `bench-${stamp}.md`);
const svgFile = path.join(resultsDir, `bench-${stamp}.svg`);
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-'));

type Row = Record<string, unknown> & { kind: string };
const rows: Row[] = [];
function record(row: Row): void {
  rows.push(row);
  fs.appendFileSync(jsonlFile, JSON.stringify({ at: new Date().toISOString(), ...row }) + '\n');
}
function log(msg: string): void {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

// ---------------------------------------------------------------- processes

const haveTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return os.cpus().length >= 2;
  } catch {
    return false;
  }
})();
const SERVER_CPU = '0';
const GEN_CPU = os.cpus().length > 2 ? `1-${os.cpus().length - 1}` : os.cpus().length === 2 ? '1' : '0';
const pinned = O.pin && haveTaskset;
const started: ChildProcess[] = [];

function launch(cmd: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const out = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, { env, stdio: ['ignore', out, out] });
  started.push(child);
  return child;
}

/** Pins every thread of a process (main, libuv pool, V8 helpers) to the given CPUs. */
function pin(pid: number | undefined, cpus: string): void {
  if (pinned && pid) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function stopProcess(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** utime + stime of a process, in microseconds. */
function procCpuUs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after the name start at field 3 (state); utime is field 14, stime field 15
  const ticks = Number(f[11]) + Number(f[12]);
  return (ticks * 1e6) / 100;
}
function procRssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

// ---------------------------------------------------------------- targets

interface Target {
  name: 'parley' | 'baseline';
  store: string;
  url: string;
  wsUrl: string;
  proc: ChildProcess;
}

interface ParleyInstance extends Target {
  env: NodeJS.ProcessEnv;
  dataDir: string;
}

function parleyEnv(dataDir: string, port: number, store: StoreMode): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    PARLEY_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    PARLEY_MESSAGE_RATE: '1000000/1s',
    PARLEY_LOGIN_LIMIT: '1000000/1s',
    PARLEY_MAX_SESSIONS: '1000',
    PARLEY_MAX_CHATS_PER_USER: '100000',
    PARLEY_ACCESS_TOKEN_TTL: '86400',
    PARLEY_INVITES_PER_DAY: '100000',
    NODE_OPTIONS: '',
  };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  if (store.databaseUrl) env.DATABASE_URL = store.databaseUrl;
  if (store.redisUrl) env.REDIS_URL = store.redisUrl;
  return env;
}

async function startParley(env: NodeJS.ProcessEnv, store: string, dataDir: string, nodeFlags: string[] = []): Promise<ParleyInstance> {
  const port = Number(env.PORT);
  const proc = launch(process.execPath, [...nodeFlags, PARLEY_BIN, 'serve'], env, path.join(tmpRoot, `parley-${store}.log`));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`the Parley server exited with ${proc.exitCode}; see ${tmpRoot}/parley-${store}.log`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (i > 300) throw new Error('the Parley server did not come up in 30 s');
    await sleep(100);
  }
  return { name: 'parley', store, url, wsUrl: `ws://127.0.0.1:${port}/api/v1/ws`, proc, env, dataDir };
}

async function startBaseline(args: string[]): Promise<Target> {
  const port = await freePort();
  // `node --import tsx`, not the tsx CLI: the CLI would run the server in a child process and
  // the CPU and memory read from /proc would be the wrapper's.
  const proc = launch(process.execPath, ['--import', 'tsx', path.join(here, 'baseline-server.ts'), '--port', String(port), ...args], { ...process.env, NODE_OPTIONS: '' }, path.join(tmpRoot, 'baseline.log'));
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`the baseline server exited with ${proc.exitCode}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 300) throw new Error('the baseline server did not come up in 30 s');
    await sleep(100);
  }
  pin(proc.pid, SERVER_CPU);
  return { name: 'baseline', store: 'sqlite', url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/`, proc };
}

// ---------------------------------------------------------------- HTTP API

async function call<T = any>(base: string, method: string, p: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/api/v1${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * A GET over one kept-alive connection with node:http: the history pages are timed as a lean client
 * sees them, without the extra work of `fetch` (its streams cost the client about 0.25 ms a page here).
 */
const pageAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function getPage<T = any>(base: string, p: string, token: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/api/v1${p}`, { agent: pageAgent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) reject(new Error(`GET ${p}: ${res.statusCode} ${text.slice(0, 300)}`));
        else resolve(JSON.parse(text) as T);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function pool<T>(items: T[], parallel: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

interface Setup {
  users: BenchUser[];
  /** groups of 20: layout 0 is the main workload, layouts 1 and 2 add the "3 groups each" variant */
  groups: Record<string, string[]>;
  adminToken: string;
}

function shuffled(n: number, seed: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

async function setupUsers(p: ParleyInstance, n: number, layouts: number): Promise<Setup> {
  const t = Date.now();
  const code = execFileSync(process.execPath, [PARLEY_BIN, 'invite', 'create', '--admin'], { env: p.env, encoding: 'utf8' }).trim().split('\n').pop()!;
  const password = 'bench-password-1';
  await call(p.url, 'POST', '/auth/register', { inviteCode: code, username: 'benchadmin', password, displayName: 'Bench admin' });
  const admin = await call(p.url, 'POST', '/auth/login', { username: 'benchadmin', password, deviceName: 'bench' });
  const codes: string[] = [];
  for (let i = 0; i < Math.ceil(n / 1000); i++) codes.push((await call(p.url, 'POST', '/invites', { maxUses: 1000 }, admin.accessToken)).code);
  const users: BenchUser[] = new Array(n);
  await pool(
    Array.from({ length: n }, (_, i) => i),
    6,
    async (i) => {
      const username = `user${i}`;
      await call(p.url, 'POST', '/auth/register', { inviteCode: codes[Math.floor(i / 1000)], username, password, displayName: `User ${i}` });
      const s = await call(p.url, 'POST', '/auth/login', { username, password, deviceName: 'bench' });
      users[i] = { index: i, id: s.userId, token: s.accessToken, chats: [] };
    },
  );
  log(`registered ${n} users in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const groups: Record<string, string[]> = {};
  const jobs: { layout: number; members: number[] }[] = [];
  for (let l = 0; l < layouts; l++) {
    const perm = l === 0 ? Array.from({ length: n }, (_, i) => i) : shuffled(n, 7919 * l);
    for (let g = 0; g < n / GROUP; g++) jobs.push({ layout: l, members: perm.slice(g * GROUP, (g + 1) * GROUP) });
  }
  const chatOf: string[][] = Array.from({ length: n }, () => []);
  await pool(jobs, 6, async (j) => {
    const owner = users[j.members[0]!]!;
    const chat = await call(p.url, 'POST', '/chats/groups', { title: `g${j.layout}`, memberIds: j.members.slice(1).map((m) => users[m]!.id) }, owner.token);
    groups[chat.id] = j.members.map((m) => users[m]!.id);
    for (const m of j.members) chatOf[m]![j.layout] = chat.id;
  });
  for (let i = 0; i < n; i++) users[i]!.chats = chatOf[i]!;
  log(`created ${jobs.length} groups of ${GROUP} in ${((Date.now() - t) / 1000).toFixed(1)} s total`);
  return { users, groups, adminToken: admin.accessToken };
}

// ---------------------------------------------------------------- load generator

class Generator {
  readonly workers: ChildProcess[] = [];
  private waiting = new Map<ChildProcess, ((m: FromWorker) => void)[]>();

  async start(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const w = fork(path.join(here, 'load-worker.ts'), [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, NODE_OPTIONS: '' } });
      started.push(w);
      this.waiting.set(w, []);
      w.on('message', (m: FromWorker) => this.waiting.get(w)!.shift()?.(m));
      this.workers.push(w);
    }
    await Promise.all(this.workers.map((w) => this.next(w)));
    for (const w of this.workers) pin(w.pid, GEN_CPU);
  }

  private next(w: ChildProcess): Promise<FromWorker> {
    return new Promise((resolve) => this.waiting.get(w)!.push(resolve));
  }

  async all(msg: ToWorker | ((i: number) => ToWorker)): Promise<FromWorker[]> {
    return Promise.all(
      this.workers.map((w, i) => {
        const reply = this.next(w);
        w.send(typeof msg === 'function' ? msg(i) : msg);
        return reply;
      }),
    );
  }

  /** Sends without waiting for a reply (the step command has none). */
  broadcast(msg: ToWorker): void {
    for (const w of this.workers) w.send(msg);
  }

  async connect(url: string, users: BenchUser[], perUser = 1, localAddresses: string[] = []): Promise<{ open: number; failed: number }> {
    const replies = (await this.all((i) => ({ cmd: 'connect', url, users: users.filter((u) => u.index % this.workers.length === i), perUser, localAddresses }))) as Extract<FromWorker, { type: 'connected' }>[];
    return { open: replies.reduce((a, r) => a + r.open, 0), failed: replies.reduce((a, r) => a + r.failed, 0) };
  }

  async close(): Promise<void> {
    await this.all({ cmd: 'close' });
  }

  /** worker CPU since process start, in µs */
  cpuUs(): number {
    let t = 0;
    for (const w of this.workers) if (w.pid) t += procCpuUs(w.pid);
    return t;
  }

  async stop(): Promise<void> {
    for (const w of this.workers) w.send({ cmd: 'exit' } satisfies ToWorker);
    await Promise.all(this.workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once('exit', r)) : null)));
  }
}

/** Orders users so that consecutive messages go to different groups. */
function sendOrder(n: number): number[] {
  const groups = n / GROUP;
  return Array.from({ length: n }, (_, j) => (j % groups) * GROUP + Math.floor(j / groups));
}

/** Waits (up to 30 s) until the process uses under 10% of a core over half a second. */
async function settle(pid: number): Promise<void> {
  await sleep(1000);
  for (let i = 0; i < 60; i++) {
    const c0 = procCpuUs(pid);
    await sleep(500);
    if (procCpuUs(pid) - c0 < 50_000) return;
  }
  log('the server was still busy 30 s after the step');
}

interface StepResult {
  pass: boolean;
  p99: number;
}

async function fanoutStep(gen: Generator, t: Target, workload: string, stepNo: number, rate: number, users: BenchUser[], attempt = 1): Promise<StepResult> {
  const total = Math.round(rate * O.duration);
  const expectedPer = GROUP - 1;
  const expected = total * expectedPer;
  const order = sendOrder(users.length);
  const t0 = nowMs() + 300;
  const pid = t.proc.pid!;
  await sleep(Math.max(0, t0 - nowMs() - 50));
  const cpu0 = procCpuUs(pid);
  const gen0 = gen.cpuUs();
  const wall0 = nowMs();
  gen.broadcast({ cmd: 'step', step: stepNo, rate, total, t0, order });
  await sleep(t0 + O.duration * 1000 - nowMs());
  const deadline = t0 + O.duration * 1000 + LOSS_MS + 300;
  let rssPeak = procRssKiB(pid);
  for (;;) {
    const prog = (await gen.all({ cmd: 'progress' })) as Extract<FromWorker, { type: 'progress' }>[];
    rssPeak = Math.max(rssPeak, procRssKiB(pid));
    if (prog.reduce((a, p) => a + p.received, 0) >= expected || nowMs() > deadline) break;
    await sleep(100);
  }
  const cpu1 = procCpuUs(pid);
  const gen1 = gen.cpuUs();
  const wallMs = nowMs() - wall0;
  const parts = (await gen.all({ cmd: 'collect' })) as Extract<FromWorker, { type: 'collected' }>[];
  const hist = new Map<number, number>();
  const counts = new Uint32Array(total);
  let received = 0;
  let late = 0;
  let acks = 0;
  let maxLag = 0;
  let lateSends = 0;
  let echoes = 0;
  let maxBucket = -1;
  const errors: Record<string, number> = {};
  for (const part of parts) {
    for (const [b, c] of part.hist) {
      hist.set(b, (hist.get(b) ?? 0) + c);
      maxBucket = Math.max(maxBucket, b);
    }
    for (let k = 0; k < total; k++) counts[k]! += part.counts[k]!;
    received += part.received;
    late += part.late;
    acks += part.acks;
    maxLag = Math.max(maxLag, part.maxLagMs);
    lateSends += part.lateSends;
    echoes += part.echoes;
    for (const [code, n] of Object.entries(part.errors)) errors[code] = (errors[code] ?? 0) + n;
  }
  let lost = 0;
  for (let k = 0; k < total; k++) if (counts[k]! < expectedPer) lost++;
  const onTime = received - late;
  const p = (q: number) => Math.round(histPercentile(hist, onTime, q) * 100) / 100;
  const serverCpuUs = cpu1 - cpu0;
  const genCpuUs = gen1 - gen0;
  const genCores = pinned ? Math.max(1, os.cpus().length - 1) : os.cpus().length;
  const genPct = Math.round((genCpuUs / (wallMs * 1000)) * 1000) / 10;
  const row = {
    kind: 'fanout',
    target: t.name,
    store: t.store,
    workload,
    users: users.length,
    rate,
    durationS: O.duration,
    sends: total,
    acks,
    deliveries: received,
    echoesToSender: echoes,
    deliveriesPerSec: Math.round(received / O.duration),
    p50: p(50),
    p95: p(95),
    p99: p(99),
    max: late > 0 ? `>${LOSS_MS}` : Math.round((maxBucket + 1) * HIST_BUCKET_MS * 10) / 10,
    lost,
    late,
    errors,
    serverCpuPct: Math.round((serverCpuUs / (wallMs * 1000)) * 1000) / 10,
    serverCpuUsPerDelivery: received > 0 ? Math.round((serverCpuUs / received) * 100) / 100 : null,
    serverRssMiB: Math.round(rssPeak / 102.4) / 10,
    generatorCpuPct: genPct,
    generatorSaturated: genPct > 85 * genCores,
    generatorMaxLagMs: Math.round(maxLag * 10) / 10,
    generatorLateSends: lateSends,
    /** the machine's 1-minute load average: other work on this shared machine shows here */
    loadAvg1: Math.round(os.loadavg()[0]! * 10) / 10,
    attempt,
    pass: false,
  };
  row.pass = lost === 0 && Object.keys(errors).length === 0 && row.p99 <= O.p99LimitMs;
  record(row);
  log(
    `${t.name}/${t.store} ${workload} R=${rate}: ${row.deliveriesPerSec} deliveries/s p50 ${row.p50} p99 ${row.p99} max ${row.max} ms, lost ${lost}, ` +
      `server ${row.serverCpuPct}% CPU ${row.serverCpuUsPerDelivery} µs/delivery, rss ${row.serverRssMiB} MiB, generator ${genPct}%${row.generatorSaturated ? ' (SATURATED)' : ''} lag max ${row.generatorMaxLagMs} ms, ${lateSends} sends >${LAG_LIMIT_MS} ms late` +
      (Object.keys(errors).length ? ` errors ${JSON.stringify(errors)}` : ''),
  );
  // Let the server settle before the next step: a step it fell behind on leaves a backlog that
  // would otherwise be billed to the next one.
  await settle(pid);
  return { pass: row.pass, p99: row.p99 };
}

/**
 * Rising rates until the first failing step (tried twice). With `through`, the series goes on
 * past a failure up to that rate, so the baseline has a figure at every rate Parley ran.
 */
async function fanoutSeries(gen: Generator, t: Target, workload: string, rates: number[], users: BenchUser[], through = 0): Promise<{ sustainable: number | null; failedAt: number | null }> {
  let sustainable: number | null = null;
  let stepNo = Math.floor(Math.random() * 1000) * 100;
  let failedAt: number | null = null;
  for (const rate of rates) {
    let r = await fanoutStep(gen, t, workload, stepNo++, rate, users);
    // The machine is shared: a failed step is tried once more before the series stops.
    if (!r.pass) r = await fanoutStep(gen, t, workload, stepNo++, rate, users, 2);
    if (!r.pass) {
      failedAt ??= rate;
      if (rate >= through) break;
      continue;
    }
    if (failedAt === null) sustainable = rate;
  }
  record({ kind: 'sustainable', target: t.name, store: t.store, workload, rate: sustainable, failedAt });
  return { sustainable, failedAt };
}

// ---------------------------------------------------------------- idle memory

const LOCAL_ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

async function idleMemory(gen: Generator, t: Target, users: BenchUser[], sockets: number): Promise<number> {
  const pid = t.proc.pid!;
  await sleep(2000);
  const rss0 = procRssKiB(pid);
  const perUser = Math.ceil(sockets / users.length);
  const { open, failed } = await gen.connect(t.wsUrl, users, perUser, LOCAL_ADDRESSES);
  await sleep(4000);
  // median of three readings a second apart
  const readings: number[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(1000);
    readings.push(procRssKiB(pid));
  }
  const rss1 = readings.sort((a, b) => a - b)[1]!;
  await gen.close();
  const perSocketKiB = Math.round(((rss1 - rss0) / open) * 100) / 100;
  record({ kind: 'idle', target: t.name, store: t.store, sockets: open, failed, users: users.length, socketsPerUser: perUser, rssBeforeMiB: Math.round(rss0 / 102.4) / 10, rssAfterMiB: Math.round(rss1 / 102.4) / 10, perSocketKiB });
  log(`${t.name} idle: ${open} sockets (${failed} failed), RSS ${(rss0 / 1024).toFixed(1)} -> ${(rss1 / 1024).toFixed(1)} MiB = ${perSocketKiB} KiB per socket`);
  await sleep(2000);
  return perSocketKiB;
}

// ---------------------------------------------------------------- catch-up

interface Cursor {
  userSeq: number;
  chats: Record<string, number>;
}

async function syncAll(p: Target, token: string, cursor: Cursor): Promise<{ cursor: Cursor; events: number; calls: number }> {
  let events = 0;
  let calls = 0;
  for (;;) {
    const r = await call(p.url, 'POST', '/sync', { userSeq: cursor.userSeq, chats: cursor.chats, limit: 5000 }, token);
    calls++;
    events += r.events.length;
    cursor = { userSeq: r.userSeq, chats: r.chats };
    if (!r.hasMore) return { cursor, events, calls };
  }
}

/** Sends n messages into chatId from one socket, keeping a window of them in flight. */
async function pump(wsUrl: string, token: string, chatId: string, n: number, tag: string): Promise<void> {
  const ws = new WebSocket(wsUrl, ['parley.v1', `parley.token.${token}`], { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let sent = 0;
  let acked = 0;
  const window = 200;
  await new Promise<void>((resolve, reject) => {
    const more = () => {
      while (sent < n && sent - acked < window) {
        ws.send(JSON.stringify({ type: 'send', id: String(sent), chatId, text: makeText(0, sent, nowMs()), clientMessageId: `${tag}${sent}` }));
        sent++;
      }
    };
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString());
      if (f.type === 'error') return reject(new Error(`send failed: ${JSON.stringify(f.error)}`));
      if (f.type !== 'ack') return;
      acked++;
      if (acked === n) resolve();
      else more();
    });
    more();
  });
  ws.close();
}

async function catchup(p: ParleyInstance, users: BenchUser[], n: number): Promise<number> {
  // The reader's device: a session of its own, fully synced, then offline.
  const reader = users[0]!;
  const device = await call(p.url, 'POST', '/auth/login', { username: `user${reader.index}`, password: "bench-password-1", deviceName: "catch-up device" });
  let { cursor } = await syncAll(p, device.accessToken, { userSeq: 0, chats: {} });
  // Other members write n messages into the reader's chats while it is away.
  const chats = reader.chats;
  const per = Math.ceil(n / chats.length);
  const t0 = Date.now();
  let remaining = n;
  const jobs: Promise<void>[] = [];
  for (const chatId of chats) {
    const count = Math.min(per, remaining);
    remaining -= count;
    const sender = users.find((u) => u.index !== reader.index && u.chats.includes(chatId))!;
    if (count > 0) jobs.push(pump(p.wsUrl, sender.token, chatId, count, `c${Date.now()}x`));
  }
  await Promise.all(jobs);
  log(`catch-up: wrote ${n} messages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await sleep(1000);
  const cursorBefore = cursor;
  const s = nowMs();
  const r = await syncAll(p, device.accessToken, cursor);
  const ms = Math.round((nowMs() - s) * 10) / 10;
  cursor = r.cursor;
  // The floor: reading the same rows straight from the SQLite file and serialising them.
  let rawMs: number | null = null;
  if (p.store === 'sqlite') {
    const db = new SQLite(path.join(p.dataDir, 'parley.sqlite'), { readonly: true });
    const q = db.prepare('select e.*, m.* from chat_events e left join messages m on m.id = e.message_id where e.chat_id = ? and e.seq > ? order by e.seq limit 5000');
    const s2 = nowMs();
    let rawEvents = 0;
    for (const chatId of chats) {
      let after = cursorBefore.chats[chatId] ?? 0;
      for (;;) {
        const got = q.all(chatId, after) as { seq: number }[];
        rawEvents += got.length;
        JSON.stringify(got);
        if (got.length < 5000) break;
        after = got[got.length - 1]!.seq;
      }
    }
    rawMs = Math.round((nowMs() - s2) * 10) / 10;
    db.close();
    log(`catch-up floor: ${rawEvents} rows read from SQLite and serialised in ${rawMs} ms`);
  }
  record({ kind: 'catchup', target: 'parley', store: p.store, changes: n, events: r.events, calls: r.calls, ms, rawSqliteMs: rawMs, ratio: rawMs ? Math.round((ms / rawMs) * 10) / 10 : null });
  log(`catch-up: ${r.events} events in ${r.calls} getChanges calls, ${ms} ms`);
  return ms;
}

// ---------------------------------------------------------------- history

/** Seeds chats owned by one user and msgs messages across them, straight into the SQLite file. */
function seedSqliteHistory(file: string, ownerId: string, chats: number, msgs: number): string[] {
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const now = Date.now();
  const per = Math.ceil(msgs / chats);
  const ids = Array.from({ length: chats }, (_, c) => `hist${String(c).padStart(5, '0')}`);
  const insChat = db.prepare("insert into chats (id, kind, title, owner_id, pair_key, last_seq, member_count, created_at) values (?, 'group', ?, ?, null, ?, 1, ?)");
  const insMember = db.prepare("insert into members (chat_id, user_id, role, joined_at, joined_seq, read_seq, hidden_seq, muted) values (?, ?, 'owner', ?, 0, 0, null, 0)");
  const insMsg = db.prepare("insert into messages (id, chat_id, seq, sender_id, client_message_id, kind, text, reply_to_id, created_at, edited_at, deleted_at) values (?, ?, ?, ?, ?, 'text', ?, null, ?, null, null)");
  const pad = 'h'.repeat(90);
  db.transaction(() => {
    for (const id of ids) {
      insChat.run(id, id, ownerId, per, now);
      insMember.run(id, ownerId, now);
    }
  })();
  const batch = db.transaction((c0: number, c1: number) => {
    for (let c = c0; c < c1; c++) for (let s = 1; s <= per; s++) insMsg.run(`${ids[c]}m${s}`, ids[c], s, ownerId, `h${s}`, `history ${s} ${pad}`, now - (per - s) * 1000);
  });
  const step = Math.max(1, Math.floor(50_000 / per));
  for (let c = 0; c < chats; c += step) batch(c, Math.min(chats, c + step));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return ids;
}

async function seedPostgresHistory(url: string, ownerId: string, chats: number, msgs: number): Promise<string[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // a dropped connection fails the next query instead of the process
  await client.connect();
  const per = Math.ceil(msgs / chats);
  const now = Date.now();
  await client.query(
    `insert into chats (id, kind, title, owner_id, pair_key, last_seq, member_count, created_at)
     select 'hist' || lpad(c::text, 5, '0'), 'group', 'hist', $1::varchar, null, $2::bigint, 1, $3::bigint from generate_series(0, $4::int - 1) c`,
    [ownerId, per, now, chats],
  );
  await client.query(
    `insert into members (chat_id, user_id, role, joined_at, joined_seq, read_seq, hidden_seq, muted)
     select 'hist' || lpad(c::text, 5, '0'), $1::varchar, 'owner', $2::bigint, 0, 0, null, 0 from generate_series(0, $3::int - 1) c`,
    [ownerId, now, chats],
  );
  for (let c0 = 0; c0 < chats; c0 += 100) {
    await client.query(
      `insert into messages (id, chat_id, seq, sender_id, client_message_id, kind, text, reply_to_id, created_at, edited_at, deleted_at)
       select 'hist' || lpad(c::text, 5, '0') || 'm' || s, 'hist' || lpad(c::text, 5, '0'), s, $1::varchar, 'h' || s, 'text', 'history ' || s || ' ' || repeat('h', 90), null, $2::bigint - ($3::int - s) * 1000, null, null
       from generate_series($4::int, $5::int) c, generate_series(1, $3::int) s`,
      [ownerId, now, per, c0, Math.min(chats, c0 + 100) - 1],
    );
  }
  await client.query('analyze');
  await client.end();
  return Array.from({ length: chats }, (_, c) => `hist${String(c).padStart(5, '0')}`);
}

async function history(p: ParleyInstance, token: string, chatIds: string[], perChat: number): Promise<void> {
  const latest: number[] = [];
  const deep: number[] = [];
  const rnd = shuffled(O.historySamples * 2, 42);
  // Warm-up: the server was just restarted after seeding, and the first few hundred requests
  // include compiling the route's code; steady-state latency is what a running server gives.
  for (let i = 0; i < 500; i++) await getPage(p.url, `/chats/${chatIds[(i * 7) % chatIds.length]}/messages?limit=100${i % 2 ? '&before=150' : ''}`, token);
  for (let i = 0; i < O.historySamples; i++) {
    const chatId = chatIds[rnd[i]! % chatIds.length]!;
    let s = nowMs();
    const a = await getPage(p.url, `/chats/${chatId}/messages?limit=100`, token);
    latest.push(nowMs() - s);
    if (a.messages.length !== Math.min(100, perChat)) throw new Error(`latest page had ${a.messages.length} messages`);
    const before = 101 + (rnd[i + O.historySamples]! % Math.max(1, Math.min(100, perChat - 200)));
    s = nowMs();
    await getPage(p.url, `/chats/${chatId}/messages?limit=100&before=${before}`, token);
    deep.push(nowMs() - s);
  }
  latest.sort((a, b) => a - b);
  deep.sort((a, b) => a - b);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  // The floor: the same page queries straight on the SQLite file, rows serialised to JSON.
  let raw: { latestP50: number; latestP99: number; deepP50: number; deepP99: number } | null = null;
  if (p.store === 'sqlite') {
    const db = new SQLite(path.join(p.dataDir, 'parley.sqlite'), { readonly: true });
    const q = db.prepare('select * from messages where chat_id = ? and seq < ? order by seq desc limit 101');
    const rl: number[] = [];
    const rd: number[] = [];
    for (let i = 0; i < O.historySamples; i++) {
      const chatId = chatIds[rnd[i]! % chatIds.length]!;
      let s = nowMs();
      JSON.stringify(q.all(chatId, Number.MAX_SAFE_INTEGER));
      rl.push(nowMs() - s);
      s = nowMs();
      JSON.stringify(q.all(chatId, 101 + (rnd[i + O.historySamples]! % Math.max(1, Math.min(100, perChat - 200)))));
      rd.push(nowMs() - s);
    }
    db.close();
    rl.sort((a, b) => a - b);
    rd.sort((a, b) => a - b);
    raw = { latestP50: r2(percentile(rl, 50)), latestP99: r2(percentile(rl, 99)), deepP50: r2(percentile(rd, 50)), deepP99: r2(percentile(rd, 99)) };
  }
  const row = {
    kind: 'history',
    target: 'parley',
    store: p.store,
    messages: chatIds.length * perChat,
    chats: chatIds.length,
    samples: O.historySamples,
    latestP50: r2(percentile(latest, 50)),
    latestP99: r2(percentile(latest, 99)),
    deepP50: r2(percentile(deep, 50)),
    deepP99: r2(percentile(deep, 99)),
    raw,
  };
  record(row);
  log(`history (${row.messages} messages, ${row.chats} chats): latest page p50 ${row.latestP50} p99 ${row.latestP99} ms; deep page p50 ${row.deepP50} p99 ${row.deepP99} ms${raw ? `; raw SQLite ${JSON.stringify(raw)}` : ''}`);
}

// ---------------------------------------------------------------- profile

async function profileRun(store: StoreMode, dataDir: string, users: BenchUser[], rate: number): Promise<void> {
  const profDir = path.join(resultsDir, `profile-${stamp}-${store.name}`);
  fs.mkdirSync(profDir, { recursive: true });
  const port = await freePort();
  const p = await startParley(parleyEnv(dataDir, port, store), store.name, dataDir, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
  pin(p.proc.pid, SERVER_CPU);
  const gen = new Generator();
  await gen.start(O.workers);
  const c = await gen.connect(p.wsUrl, users);
  if (c.failed) throw new Error(`${c.failed} sockets failed to connect`);
  const from = Number(process.hrtime.bigint() / 1000n);
  await fanoutStep(gen, p, 'groups-profiled', 900_000 + rate, rate, users);
  const to = Number(process.hrtime.bigint() / 1000n);
  await gen.close();
  await gen.stop();
  await stopProcess(p.proc);
  const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    log('no CPU profile was written');
    return;
  }
  // Only the samples of the load step count: start-up (module loading, compiling) is left out.
  const summary = summarise(path.join(profDir, file), 30, { from, to });
  fs.writeFileSync(path.join(profDir, 'summary.txt'), formatSummary(summary) + '\n');
  record({ kind: 'profile', store: store.name, rate, file: path.relative(root, path.join(profDir, file)), byArea: summary.byArea.slice(0, 15), byFunction: summary.byFunction.slice(0, 20), inclusive: summary.inclusive.slice(0, 20) });
  log(`profile at R=${rate} written to ${path.relative(root, profDir)}:\n${formatSummary({ ...summary, byFunction: summary.byFunction.slice(0, 15), inclusive: summary.inclusive.slice(0, 15) })}`);
}

// ---------------------------------------------------------------- store modes

interface StoreMode {
  name: string;
  databaseUrl?: string;
  redisUrl?: string;
  dropDatabase?: () => Promise<void>;
}

async function postgresMode(): Promise<StoreMode | null> {
  const base = process.env.DATABASE_URL;
  if (!base) return null;
  const { default: pg } = await import('pg');
  const name = `parley_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    name: process.env.REDIS_URL ? 'postgres+redis' : 'postgres',
    databaseUrl: u.toString(),
    redisUrl: process.env.REDIS_URL,
    dropDatabase: async () => {
      const c = new pg.Client({ connectionString: base });
      c.on('error', () => {});
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

async function runStore(store: StoreMode, withBaseline: boolean): Promise<void> {
  const dataDir = path.join(tmpRoot, `data-${store.name.replace(/\W/g, '_')}`);
  const port = await freePort();
  const env = parleyEnv(dataDir, port, store);
  log(`== ${store.name}: starting Parley on port ${port} (data ${dataDir})${pinned ? `, server on CPU ${SERVER_CPU}, generator on CPU ${GEN_CPU}` : ', not pinned'}`);
  let p = await startParley(env, store.name, dataDir);
  const layouts = O.skip.has('variant') ? 1 : 3;
  const setup = await setupUsers(p, O.users, layouts);
  const mainUsers = setup.users.map((u) => ({ ...u, chats: [u.chats[0]!] }));
  // A fresh process for the measurements: the heap left by a thousand registrations would blur
  // the idle-memory figure. Set-up (argon2 for every account) ran unpinned; the rest runs pinned.
  await stopProcess(p.proc);
  p = await startParley(env, store.name, dataDir);
  pin(p.proc.pid, SERVER_CPU);
  const gen = new Generator();
  await gen.start(O.workers);

  if (!O.skip.has('idle')) {
    await idleMemory(gen, p, setup.users, O.idle);
    if (withBaseline) {
      const bare = await startBaseline(['--bare']);
      await idleMemory(gen, bare, setup.users.map((u) => ({ ...u, token: u.id })), O.idle);
      await stopProcess(bare.proc);
    }
  }

  let series: { sustainable: number | null; failedAt: number | null } = { sustainable: null, failedAt: null };
  if (!O.skip.has('fanout')) {
    let c = await gen.connect(p.wsUrl, mainUsers);
    if (c.failed) throw new Error(`${c.failed} sockets failed to connect`);
    series = await fanoutSeries(gen, p, 'groups', O.rates, mainUsers);
    await gen.close();
    let base: Target | null = null;
    const baselineUsers = (list: BenchUser[]) => list.map((u) => ({ ...u, token: u.id }));
    if (withBaseline && !O.skip.has('baseline')) {
      const groupsFile = path.join(tmpRoot, 'groups.json');
      fs.writeFileSync(groupsFile, JSON.stringify(setup.groups));
      base = await startBaseline(['--data', path.join(tmpRoot, 'baseline'), '--groups', groupsFile]);
      c = await gen.connect(base.wsUrl, baselineUsers(mainUsers));
      if (c.failed) throw new Error(`${c.failed} baseline sockets failed to connect`);
      await fanoutSeries(gen, base, 'groups', O.rates, mainUsers, series.failedAt ?? 0);
      await gen.close();
    }
    if (!O.skip.has('variant')) {
      let variant: { sustainable: number | null; failedAt: number | null };
      c = await gen.connect(p.wsUrl, setup.users);
      variant = await fanoutSeries(gen, p, 'groups-3-per-user', O.variantRates, setup.users);
      await gen.close();
      if (base) {
        c = await gen.connect(base.wsUrl, baselineUsers(setup.users));
        await fanoutSeries(gen, base, 'groups-3-per-user', O.variantRates, setup.users, variant.failedAt ?? 0);
        await gen.close();
      }
    }
    if (base) await stopProcess(base.proc);
  }
  await gen.stop();

  if (!O.skip.has('catchup')) await catchup(p, mainUsers, O.catchup);
  await stopProcess(p.proc);

  if (!O.skip.has('profile') && !O.skip.has('fanout')) {
    // Profiled where Parley gave out (the first failing rate), or at the top rate when none failed.
    const rate = series.failedAt ?? series.sustainable ?? O.rates[0]!;
    await profileRun(store, dataDir, mainUsers, rate);
  }

  if (!O.skip.has('history')) {
    const t = Date.now();
    const perChat = Math.ceil(O.historyMessages / O.historyChats);
    const chatIds =
      store.databaseUrl !== undefined
        ? await seedPostgresHistory(store.databaseUrl, setup.users[0]!.id, O.historyChats, O.historyMessages)
        : seedSqliteHistory(path.join(dataDir, 'parley.sqlite'), setup.users[0]!.id, O.historyChats, O.historyMessages);
    log(`seeded ${O.historyChats * perChat} messages in ${O.historyChats} chats directly into the store in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    p = await startParley(env, store.name, dataDir);
    pin(p.proc.pid, SERVER_CPU);
    await history(p, setup.users[0]!.token, chatIds, perChat);
    await stopProcess(p.proc);
  }
}

// ---------------------------------------------------------------- report

function fmt(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
  return String(v);
}

function report(): string {
  const cpu = os.cpus();
  const lines: string[] = [];
  lines.push(`# Parley benchmark, ${new Date().toISOString()}`, '');
  const loads = rows.filter((r) => typeof r.loadAvg1 === 'number').map((r) => r.loadAvg1 as number);
  lines.push(`Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}.` + (loads.length ? ` 1-minute load average during the fan-out steps: ${Math.min(...loads)}–${Math.max(...loads)} (other work shares this machine).` : ''));
  lines.push(`Command: \`npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}\`. Users ${O.users}, groups of ${GROUP}, ${O.duration} s per step; ${pinned ? `server pinned to CPU ${SERVER_CPU}, generator (${O.workers} processes) to CPU ${GEN_CPU}` : 'no CPU pinning'}.`, '');
  const fan = rows.filter((r) => r.kind === 'fanout');
  if (fan.length) {
    lines.push('## Fan-out', '');
    lines.push(`| target | workload | rate (sends/s) | deliveries/s | p50 ms | p95 ms | p99 ms | max ms | lost | server CPU % | server µs/delivery | ratio to baseline | server RSS MiB | generator CPU % | sends >${LAG_LIMIT_MS} ms late / max lag ms | pass |`);
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of fan) {
      const b = fan.find((x) => x.target === 'baseline' && x.workload === r.workload && x.rate === r.rate);
      const ratio = r.target === 'parley' && b && typeof b.serverCpuUsPerDelivery === 'number' && typeof r.serverCpuUsPerDelivery === 'number' ? `${(r.serverCpuUsPerDelivery / b.serverCpuUsPerDelivery).toFixed(1)}×` : '';
      lines.push(
        `| ${r.target}/${r.store} | ${r.workload} | ${r.rate} | ${r.deliveriesPerSec} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${r.lost} | ${fmt(r.serverCpuPct)} | ${fmt(r.serverCpuUsPerDelivery)} | ${ratio} | ${fmt(r.serverRssMiB)} | ${fmt(r.generatorCpuPct)}${r.generatorSaturated ? ' (saturated)' : ''} | ${r.generatorLateSends} / ${fmt(r.generatorMaxLagMs)} | ${r.pass ? 'yes' : 'no'}${r.attempt === 2 ? ' (retry)' : ''} |`,
      );
    }
    lines.push('');
    for (const s of rows.filter((r) => r.kind === 'sustainable')) lines.push(`- Sustainable rate, ${s.target}/${s.store} ${s.workload}: ${s.rate ?? 'none of the rates'} sends/s${s.rate ? ` (${(s.rate as number) * (GROUP - 1)} deliveries/s)` : ''}`);
    lines.push('');
  }
  const idle = rows.filter((r) => r.kind === 'idle');
  if (idle.length) {
    lines.push('## Idle memory', '', '| target | sockets | users | RSS before MiB | RSS after MiB | KiB per socket |', '|---|---|---|---|---|---|');
    for (const r of idle) lines.push(`| ${r.target === 'baseline' ? 'bare ws server' : `${r.target}/${r.store}`} | ${r.sockets} | ${r.users} | ${r.rssBeforeMiB} | ${r.rssAfterMiB} | ${r.perSocketKiB} |`);
    lines.push('');
  }
  const cu = rows.filter((r) => r.kind === 'catchup');
  if (cu.length) {
    lines.push('## Catch-up', '', '| store | changes | events received | getChanges calls | ms | raw SQLite read ms | ratio |', '|---|---|---|---|---|---|---|');
    for (const r of cu) lines.push(`| ${r.store} | ${r.changes} | ${r.events} | ${r.calls} | ${r.ms} | ${fmt(r.rawSqliteMs)} | ${r.ratio ? `${r.ratio}×` : ''} |`);
    lines.push('');
  }
  const hi = rows.filter((r) => r.kind === 'history');
  if (hi.length) {
    lines.push('## History paging (100 messages a page)', '', '| store | messages | chats | latest p50 ms | latest p99 ms | deep p50 ms | deep p99 ms | raw SQLite latest p50/p99 | raw deep p50/p99 |', '|---|---|---|---|---|---|---|---|---|');
    for (const r of hi) {
      const raw = r.raw as { latestP50: number; latestP99: number; deepP50: number; deepP99: number } | null;
      lines.push(`| ${r.store} | ${r.messages} | ${r.chats} | ${r.latestP50} | ${r.latestP99} | ${r.deepP50} | ${r.deepP99} | ${raw ? `${raw.latestP50} / ${raw.latestP99}` : ''} | ${raw ? `${raw.deepP50} / ${raw.deepP99}` : ''} |`);
    }
    lines.push('');
  }
  for (const r of rows.filter((x) => x.kind === 'profile')) {
    lines.push(`## CPU profile (${r.store}, ${r.rate} sends/s)`, '', `\`${r.file}\``, '', '| self % | area |', '|---|---|');
    for (const a of r.byArea as { area: string; pct: number }[]) lines.push(`| ${a.pct} | ${a.area} |`);
    lines.push('', '| self % | function |', '|---|---|');
    for (const f of r.byFunction as { name: string; where: string; pct: number }[]) lines.push(`| ${f.pct} | \`${f.name}\` ${f.where} |`);
    lines.push('', '| inclusive % | server function |', '|---|---|');
    for (const f of r.inclusive as { name: string; pct: number }[]) lines.push(`| ${f.pct} | \`${f.name}\` |`);
    lines.push('');
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  log(`results: ${path.relative(root, jsonlFile)}; scratch: ${tmpRoot}`);
  record({ kind: 'run', options: { ...O, skip: [...O.skip] }, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version, pinned });
  if (!pinned) log('taskset is not available (or --no-pin): server and generator are not pinned to separate cores');
  if (!O.skip.has('sqlite')) await runStore({ name: 'sqlite' }, true);
  const pgMode = await postgresMode();
  if (pgMode) {
    dropDatabaseOnExit = pgMode.dropDatabase!;
    try {
      await runStore(pgMode, false);
    } finally {
      dropDatabaseOnExit = null;
      await pgMode.dropDatabase!();
    }
  }
  fs.writeFileSync(mdFile, report() + '\n');
  fs.writeFileSync(svgFile, renderChart(rows.filter((r) => r.kind === 'fanout') as any));
  log(`wrote ${path.relative(root, mdFile)} and ${path.relative(root, svgFile)}`);
}

/** Drops the bench's own PostgreSQL database, also when the run dies half-way. */
let dropDatabaseOnExit: (() => Promise<void>) | null = null;

async function cleanup(): Promise<void> {
  for (const c of started) if (c.exitCode === null && c.signalCode === null && c.pid) c.kill('SIGKILL');
  if (dropDatabaseOnExit) await dropDatabaseOnExit().catch(() => {});
  fs.rmSync(tmpRoot, { recursive: true, force: true });
}

main().then(
  async () => {
    await cleanup();
    process.exit(0);
  },
  async (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    if (rows.length) fs.writeFileSync(mdFile, report() + '\n');
    await cleanup();
    process.exit(1);
  },
);
process.on('SIGINT', () => {
  void cleanup().then(() => process.exit(130));
});
process.on('uncaughtException', (err) => {
  process.stderr.write(`bench failed: ${err.stack ?? String(err)}\n`);
  void cleanup().then(() => process.exit(1));
});
