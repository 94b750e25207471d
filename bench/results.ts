// Where a run's results go: bench/results/bench-<time>.{jsonl,md,svg}. Each row is appended to
// the .jsonl file as it is taken, so a run that dies half-way keeps what it measured.
import fs from 'node:fs';
import path from 'node:path';
import type { Row } from './rows.ts';

export class Results {
  readonly dir: string;
  /** the run's start, as it appears in the file names */
  readonly stamp: string;
  readonly jsonlFile: string;
  readonly mdFile: string;
  readonly svgFile: string;
  private readonly list: Row[] = [];

  constructor(dir: string, startedAt: Date) {
    this.dir = dir;
    this.stamp = startedAt.toISOString().replace(/[:.]/g, '-').slice(0, 19);
    this.jsonlFile = path.join(dir, `bench-${this.stamp}.jsonl`);
    this.mdFile = path.join(dir, `bench-${this.stamp}.md`);
    this.svgFile = path.join(dir, `bench-${this.stamp}.svg`);
    fs.mkdirSync(dir, { recursive: true });
  }

  get rows(): readonly Row[] {
    return this.list;
  }

  record(row: Row): void {
    this.list.push(row);
    fs.appendFileSync(this.jsonlFile, JSON.stringify({ at: new Date().toISOString(), ...row }) + '\n');
  }

  /** Records every row a scenario yields, as it yields it; returns them. */
  async recordAll<R extends Row>(rows: AsyncIterable<R>): Promise<R[]> {
    const taken: R[] = [];
    for await (const row of rows) {
      this.record(row);
      taken.push(row);
    }
    return taken;
  }
}

/** A progress line on stdout, with the time of day. */
export function log(msg: string): void {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}
