// Profile: the server restarted with `node --cpu-prof` runs one fan-out step and is stopped;
// self time is summed by function and by source area over the samples of that step alone.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, type BenchContext } from '../context.ts';
import { Generator } from '../generator.ts';
import { formatSummary, summarise } from '../profile-summary.ts';
import { freePort, stopProcess } from '../procs.ts';
import { log } from '../results.ts';
import type { FanoutRow, ProfileRow } from '../rows.ts';
import type { BenchUser } from '../shared.ts';
import type { StoreMode } from '../stores.ts';
import { parleyEnv, startParley } from '../targets.ts';
import { fanoutStep } from './fanout.ts';

export async function* profileRun(
  ctx: BenchContext,
  { store, dataDir, users, rate }: { store: StoreMode; dataDir: string; users: BenchUser[]; rate: number },
): AsyncGenerator<FanoutRow | ProfileRow> {
  const profDir = path.join(ctx.results.dir, `profile-${ctx.results.stamp}-${store.name}`);
  fs.mkdirSync(profDir, { recursive: true });
  const env = parleyEnv(store, { dataDir, port: await freePort() });
  const p = await startParley(ctx, { env, store: store.name, dataDir, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  ctx.procs.pinServer(p.proc.pid);
  const gen = new Generator(ctx.procs);
  await gen.start(ctx.options.workers);
  await gen.connectAll(p, users);
  const from = Number(process.hrtime.bigint() / 1000n);
  const step = await fanoutStep({ ctx, gen, target: p, workload: 'groups-profiled', users }, { stepNo: 900_000 + rate, rate, attempt: 1 });
  const to = Number(process.hrtime.bigint() / 1000n);
  yield step;
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
  const top = { ...summary, byFunction: summary.byFunction.slice(0, 15), inclusive: summary.inclusive.slice(0, 15) };
  log(`profile at R=${rate} written to ${path.relative(ROOT, profDir)}:\n${formatSummary(top)}`);
  yield {
    kind: 'profile',
    store: store.name,
    rate,
    file: path.relative(ROOT, path.join(profDir, file)),
    byArea: summary.byArea.slice(0, 15),
    byFunction: summary.byFunction.slice(0, 20),
    inclusive: summary.inclusive.slice(0, 20),
  };
}
