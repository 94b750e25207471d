// npm run reliability [-- --only kill9-sqlite,redis --kills 50 --keep]
// Runs the reliability scenarios one after another on 127.0.0.1, prints a summary and writes the
// figures to bench/results/reliability-<time>.json. Exit code 1 when a check failed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../bench/context.ts';
import { SQLITE } from '../../bench/stores.ts';
import { Harness, log } from './harness.ts';
import { kill9 } from './kill9.ts';
import { pgOutage } from './pg-outage.ts';
import { redisOutage } from './redis-outage.ts';
import type { ScenarioResult } from './result.ts';
import { createDatabase, LOCAL_POSTGRES } from './services.ts';

interface Options {
  only: string[] | null;
  kills: number;
  keep: boolean;
}

const SCENARIOS: Record<string, (h: Harness, o: Options) => Promise<ScenarioResult>> = {
  'kill9-sqlite': (h, o) => kill9(h, SQLITE, { kills: o.kills }),
  'kill9-postgres': async (h, o) => kill9(h, { name: 'postgres', databaseUrl: await createDatabase(h, LOCAL_POSTGRES, 'kill9') }, { kills: o.kills }),
  redis: (h) => redisOutage(h),
  postgres: (h) => pgOutage(h),
};

function parseArgs(argv: string[]): Options {
  const o: Options = { only: null, kills: 50, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') o.only = argv[++i]!.split(',');
    else if (a === '--kills') o.kills = Number(argv[++i]);
    else if (a === '--keep') o.keep = true;
    else throw new Error(`Unknown option "${a}": use --only ${Object.keys(SCENARIOS).join(',')}, --kills N, --keep`);
  }
  const unknown = (o.only ?? []).filter((s) => !(s in SCENARIOS));
  if (unknown.length > 0) throw new Error(`Unknown scenario "${unknown.join(', ')}": the scenarios are ${Object.keys(SCENARIOS).join(', ')}`);
  if (!Number.isInteger(o.kills) || o.kills < 1) throw new Error('--kills takes a positive integer');
  return o;
}

function machine(): Record<string, string | number> {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const names = options.only ?? Object.keys(SCENARIOS);
  const startedAt = new Date();
  const results: ScenarioResult[] = [];
  let current: Harness | null = null;
  const interrupt = () => {
    log('interrupted: cleaning up');
    void (current?.close({ keep: true }) ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  for (const name of names) {
    log(`scenario ${name}`);
    const h = (current = new Harness(name));
    const t = Date.now();
    try {
      results.push(await SCENARIOS[name]!(h, options));
    } catch (err) {
      log(`scenario ${name} failed: ${(err as Error).stack ?? err}`);
      results.push({
        scenario: name,
        title: name,
        figures: { error: (err as Error).message },
        checks: [{ name: 'ran to the end', ok: false, detail: (err as Error).message }],
      });
    }
    const failed = results.at(-1)!.checks.some((c) => !c.ok);
    await h.close({ keep: options.keep || failed });
    current = null;
    log(`scenario ${name} done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }

  const passed = results.every((r) => r.checks.every((c) => c.ok));
  const report = {
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine: machine(),
    passed,
    scenarios: results,
  };
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `reliability-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  process.stdout.write('\nReliability summary\n');
  for (const r of results) {
    process.stdout.write(`\n${r.title}\n`);
    for (const [k, v] of Object.entries(r.figures)) process.stdout.write(`  ${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : v}\n`);
    for (const c of r.checks) process.stdout.write(`  ${c.ok ? 'PASS' : 'FAIL'} ${c.name}${c.detail ? ` (${c.detail})` : ''}\n`);
  }
  process.stdout.write(`\n${passed ? 'all checks passed' : 'SOME CHECKS FAILED'}; figures in ${path.relative(ROOT, file)}\n`);
  process.exitCode = passed ? 0 : 1;
}

await main();
// The SDK clients and their timers are closed; nothing else needs to run.
process.exit(process.exitCode ?? 0);
