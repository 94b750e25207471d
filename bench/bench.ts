// Parley benchmark: fan-out throughput and latency, CPU per delivery, idle memory per socket,
// catch-up and history paging, each next to a baseline measured in the same run.
//
//   npm run bench                 full run (SQLite; PostgreSQL + Redis too when DATABASE_URL / REDIS_URL are set)
//   npm run bench -- --quick      ~1 minute smoke run with small numbers, no thresholds
//
// The options are in cli.ts; docs/performance.md says what is measured and how.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseOptions, runs, type BenchOptions } from './cli.ts';
import { BENCH_DIR, ROOT, type BenchContext } from './context.ts';
import { detectPinning, Processes } from './procs.ts';
import { renderChart } from './report/chart.ts';
import { markdownReport } from './report/markdown.ts';
import { log, Results } from './results.ts';
import { rowsOf } from './rows.ts';
import { runStore } from './run-store.ts';
import { postgresMode, SQLITE } from './stores.ts';

/** A run's context and how to leave nothing behind: processes, scratch files, its own database. */
interface Run {
  ctx: BenchContext;
  /** set while the bench's PostgreSQL database exists, so that a run that dies half-way drops it */
  dropDatabase: (() => Promise<void>) | null;
}

function startRun(options: BenchOptions): Run {
  const ctx: BenchContext = {
    options,
    procs: new Processes(detectPinning(options.pin)),
    results: new Results(path.join(BENCH_DIR, 'results'), new Date()),
    tmpRoot: fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-')),
  };
  return { ctx, dropDatabase: null };
}

async function measure(run: Run): Promise<void> {
  const { options, procs, results, tmpRoot } = run.ctx;
  log(`results: ${path.relative(ROOT, results.jsonlFile)}; scratch: ${tmpRoot}`);
  const { argv: _argv, ...recorded } = options;
  results.record({
    kind: 'run',
    options: { ...recorded, skip: [...options.skip] },
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    node: process.version,
    pinned: procs.pinning.pinned,
  });
  if (!procs.pinning.pinned) log('taskset is not available (or --no-pin): server and generator are not pinned to separate cores');
  if (runs(options, 'sqlite')) await runStore(run.ctx, SQLITE, { withBaseline: true });
  const pg = await postgresMode(process.env);
  if (pg) {
    run.dropDatabase = pg.dropDatabase;
    try {
      await runStore(run.ctx, pg, { withBaseline: false });
    } finally {
      run.dropDatabase = null;
      await pg.dropDatabase();
    }
  }
}

function writeReport({ ctx }: Run, withChart: boolean): void {
  const { results, options, procs } = ctx;
  fs.writeFileSync(results.mdFile, markdownReport(results.rows, { options, pinning: procs.pinning }) + '\n');
  if (!withChart) return;
  fs.writeFileSync(results.svgFile, renderChart(rowsOf(results.rows, 'fanout')));
  log(`wrote ${path.relative(ROOT, results.mdFile)} and ${path.relative(ROOT, results.svgFile)}`);
}

async function cleanup({ ctx, dropDatabase }: Run): Promise<void> {
  ctx.procs.killAll();
  if (dropDatabase) await dropDatabase().catch(() => {});
  fs.rmSync(ctx.tmpRoot, { recursive: true, force: true });
}

function fail(err: unknown): void {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const run = startRun(parseOptions(argv));
  process.on('SIGINT', () => {
    void cleanup(run).then(() => process.exit(130));
  });
  process.on('uncaughtException', (err) => {
    fail(err);
    void cleanup(run).then(() => process.exit(1));
  });
  try {
    await measure(run);
    writeReport(run, true);
    return 0;
  } catch (err) {
    fail(err);
    if (run.ctx.results.rows.length) writeReport(run, false);
    return 1;
  } finally {
    await cleanup(run);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    fail(err);
    process.exit(1);
  },
);
