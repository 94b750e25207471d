// One store's run: set-up through the API, then on a fresh, pinned server the idle memory,
// fan-out (Parley, the baseline, the 3-groups variant), catch-up, a profiled step, E2EE beside
// plaintext, file transfers and history.
import fs from 'node:fs';
import path from 'node:path';
import { runs } from './cli.ts';
import { BENCH_DIR, type BenchContext } from './context.ts';
import { Generator } from './generator.ts';
import { freePort, stopProcess } from './procs.ts';
import { log } from './results.ts';
import type { SustainableRow } from './rows.ts';
import { catchup } from './scenarios/catchup.ts';
import { e2ee } from './scenarios/e2ee.ts';
import { fileTransfers } from './scenarios/files.ts';
import { scaleOut } from './scenarios/scaleout.ts';
import { fanoutSeries } from './scenarios/fanout.ts';
import { history } from './scenarios/history.ts';
import { idleMemory } from './scenarios/idle.ts';
import { profileRun } from './scenarios/profile.ts';
import { historyPlan } from './seed/history-rows.ts';
import { seedPostgresHistory } from './seed/postgres.ts';
import { seedSqliteHistory } from './seed/sqlite.ts';
import { setupUsers, type Setup } from './setup.ts';
import type { BenchUser } from './shared.ts';
import type { StoreMode } from './stores.ts';
import { parleyEnv, startBaseline, startParley, type ParleyInstance, type Target } from './targets.ts';

/** What one store's measurements share: its server's environment and the users set up on it. */
interface StoreRun {
  ctx: BenchContext;
  store: StoreMode;
  env: NodeJS.ProcessEnv;
  dataDir: string;
  setup: Setup;
  /** every user with only its main-workload group */
  mainUsers: BenchUser[];
}

export async function runStore(ctx: BenchContext, store: StoreMode, { withBaseline }: { withBaseline: boolean }): Promise<void> {
  const { options, procs, results } = ctx;
  const dataDir = path.join(ctx.tmpRoot, `data-${store.name.replace(/\W/g, '_')}`);
  const port = await freePort();
  const env = parleyEnv(store, { dataDir, port });
  const { pinned, serverCpus, generatorCpus } = procs.pinning;
  const pins = pinned ? `, server on CPU ${serverCpus}, generator on CPU ${generatorCpus}` : ', not pinned';
  log(`== ${store.name}: starting Parley on port ${port} (data ${dataDir})${pins}`);
  const setUpOn = await startParley(ctx, { env, store: store.name, dataDir });
  const setup = await setupUsers(setUpOn, { users: options.users, layouts: runs(options, 'variant') ? 3 : 1 });
  const run: StoreRun = { ctx, store, env, dataDir, setup, mainUsers: setup.users.map((u) => ({ ...u, chats: [u.chats[0]!] })) };
  // A fresh process for the measurements: the heap left by a thousand registrations would blur
  // the idle-memory figure. Set-up (argon2 for every account) ran unpinned; the rest runs pinned.
  await stopProcess(setUpOn.proc);
  const p = await startPinnedParley(run);
  const gen = new Generator(procs);
  await gen.start(options.workers);
  if (runs(options, 'idle')) await measureIdle(run, { gen, p, withBaseline });
  const series = runs(options, 'fanout') ? await measureFanout(run, { gen, p, withBaseline }) : null;
  await gen.stop();
  if (runs(options, 'catchup')) results.record(await catchup(p, { users: run.mainUsers, changes: options.catchup }));
  await stopProcess(p.proc);
  if (series && runs(options, 'profile')) {
    // Profiled where Parley gave out (the first failing rate), or at the top rate when none failed.
    const rate = series.failedAt ?? series.rate ?? options.rates[0]!;
    await results.recordAll(profileRun(ctx, { store, dataDir, users: run.mainUsers, rate }));
  }
  if (runs(options, 'e2ee')) await measureE2ee(run);
  if (runs(options, 'files')) await measureFiles(run, { withBaseline });
  if (runs(options, 'history')) await measureHistory(run);
  if (store.redisUrl && runs(options, 'scaleout')) await measureScaleOut(run);
}

/** 1, 2, 3 nodes on this store's PostgreSQL and Redis, the same load spread over them. */
async function measureScaleOut({ ctx, store, mainUsers }: StoreRun): Promise<void> {
  const gen = new Generator(ctx.procs);
  await gen.start(ctx.options.workers);
  try {
    await ctx.results.recordAll(scaleOut(ctx, { gen, store, users: mainUsers, rate: ctx.options.scaleRate, nodeCounts: ctx.options.scaleNodes }));
  } finally {
    await gen.stop();
  }
}

/** Plaintext and E2EE sends in private chats on one fresh server, then the client-side MLS costs. */
async function measureE2ee(run: StoreRun): Promise<void> {
  const { ctx, setup } = run;
  const { quick, e2eeSends, e2eeOps } = ctx.options;
  const p = await startPinnedParley(run);
  try {
    await ctx.results.recordAll(e2ee(p, { users: setup.users, sends: e2eeSends, rounds: quick ? 2 : 4, warmup: quick ? 20 : 200, ops: e2eeOps }));
  } finally {
    await stopProcess(p.proc);
  }
}

/** Uploads and downloads through a fresh Parley and through the bare file server on the same disk, in turns. */
async function measureFiles(run: StoreRun, { withBaseline }: { withBaseline: boolean }): Promise<void> {
  const { ctx, setup } = run;
  const { files, fileMiB, fileRounds } = ctx.options;
  const p = await startPinnedParley(run);
  const targets: { target: Target; token: string | null }[] = [{ target: p, token: setup.users[0]!.token }];
  if (withBaseline && runs(ctx.options, 'baseline'))
    targets.push({
      target: await startBaseline(ctx, ['--data', path.join(ctx.tmpRoot, 'file-baseline')], path.join(BENCH_DIR, 'file-baseline-server.ts')),
      token: null,
    });
  try {
    for (const row of await fileTransfers(targets, { files, fileMiB, rounds: fileRounds })) ctx.results.record(row);
  } finally {
    for (const { target } of targets) await stopProcess(target.proc);
  }
}

async function startPinnedParley({ ctx, env, store, dataDir }: StoreRun): Promise<ParleyInstance> {
  const p = await startParley(ctx, { env, store: store.name, dataDir });
  ctx.procs.pinServer(p.proc.pid);
  return p;
}

/** A fresh, pinned Parley server and the generator's workers, shared by the measurements. */
interface Measuring {
  gen: Generator;
  p: ParleyInstance;
  withBaseline: boolean;
}

/** The baseline authenticates nothing: its token is the user id. */
function baselineUsers(users: BenchUser[]): BenchUser[] {
  return users.map((u) => ({ ...u, token: u.id }));
}

async function measureIdle({ ctx, setup }: StoreRun, { gen, p, withBaseline }: Measuring): Promise<void> {
  const sockets = ctx.options.idle;
  ctx.results.record(await idleMemory(gen, p, { users: setup.users, sockets }));
  if (!withBaseline) return;
  const bare = await startBaseline(ctx, ['--bare']);
  ctx.results.record(await idleMemory(gen, bare, { users: baselineUsers(setup.users), sockets }));
  await stopProcess(bare.proc);
}

/** The fan-out series; returns Parley's sustainable rate in the main workload. */
async function measureFanout(run: StoreRun, { gen, p, withBaseline }: Measuring): Promise<SustainableRow> {
  const { ctx, setup, mainUsers } = run;
  const { options, results } = ctx;
  const series = async (target: Target, workload: string, users: BenchUser[], rates: readonly number[], through?: number) => {
    const rows = await results.recordAll(fanoutSeries({ ctx, gen, target, workload, users }, { rates, through }));
    await gen.close();
    return rows.at(-1) as SustainableRow;
  };
  await gen.connectAll(p, mainUsers);
  const main = await series(p, 'groups', mainUsers, options.rates);
  const base = withBaseline && runs(options, 'baseline') ? await startFanoutBaseline(run) : null;
  if (base) {
    await gen.connectAll(base, baselineUsers(mainUsers));
    await series(base, 'groups', mainUsers, options.rates, main.failedAt ?? 0);
  }
  if (runs(options, 'variant')) {
    await gen.connect(p.wsUrl, setup.users);
    const variant = await series(p, 'groups-3-per-user', setup.users, options.variantRates);
    if (base) {
      await gen.connect(base.wsUrl, baselineUsers(setup.users));
      await series(base, 'groups-3-per-user', setup.users, options.variantRates, variant.failedAt ?? 0);
    }
  }
  if (base) await stopProcess(base.proc);
  return main;
}

/** The baseline server with the same groups as Parley. */
async function startFanoutBaseline({ ctx, setup }: StoreRun): Promise<Target> {
  const groupsFile = path.join(ctx.tmpRoot, 'groups.json');
  fs.writeFileSync(groupsFile, JSON.stringify(setup.groups));
  return startBaseline(ctx, ['--data', path.join(ctx.tmpRoot, 'baseline'), '--groups', groupsFile]);
}

/** Seeds the history with the server stopped, then pages through it on a fresh server. */
async function measureHistory(run: StoreRun): Promise<void> {
  const { ctx, store, dataDir, setup } = run;
  const { options } = ctx;
  const t = Date.now();
  const owner = setup.users[0]!;
  const plan = historyPlan(owner.id, { chats: options.historyChats, messages: options.historyMessages });
  const chatIds =
    store.databaseUrl !== undefined ? await seedPostgresHistory(store.databaseUrl, plan) : seedSqliteHistory(path.join(dataDir, 'parley.sqlite'), plan);
  const seconds = ((Date.now() - t) / 1000).toFixed(1);
  log(`seeded ${plan.chats * plan.perChat} messages in ${plan.chats} chats directly into the store in ${seconds} s`);
  const p = await startPinnedParley(run);
  ctx.results.record(await history(p, owner.token, { chatIds, perChat: plan.perChat, samples: options.historySamples }));
  await stopProcess(p.proc);
}
