// What every part of a run is handed instead of reaching for globals.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from './cli.ts';
import type { Processes } from './procs.ts';
import type { Results } from './results.ts';

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(BENCH_DIR, '..');
export const PARLEY_BIN = path.join(ROOT, 'packages/server/bin/parley.mjs');

export interface BenchContext {
  readonly options: BenchOptions;
  readonly results: Results;
  readonly procs: Processes;
  /** scratch space (data directories, server logs), removed at the end of the run */
  readonly tmpRoot: string;
}
