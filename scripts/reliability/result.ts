// What a scenario reports: its figures (written to the JSON file as they are) and its pass/fail checks.
import type { Audit, Counts } from './clients.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface ScenarioResult {
  scenario: string;
  title: string;
  figures: Record<string, number | string | boolean | Counts | null>;
  checks: Check[];
}

/** A 5xx other than 503, a timeout or a refused connection: an answer that is not a clean one. */
/** The checks every scenario makes of its audit: no acked message lost, none stored twice. */
export function auditChecks(result: Audit): Check[] {
  return [
    { name: 'no acked message lost', ok: result.lost === 0, detail: `${result.lost} of ${result.acked}` },
    { name: 'no message stored twice', ok: result.duplicated === 0, detail: `${result.duplicated}` },
  ];
}

export function uncleanAnswers(counts: Counts): number {
  let n = 0;
  for (const row of Object.values(counts))
    for (const [k, v] of Object.entries(row)) if ((/^5\d\d$/.test(k) && k !== '503') || k === 'timeout' || k === 'network') n += v;
  return n;
}

/** A one-line rendering of counts: `outage: 200×12 503×40`. */
export function formatCounts(counts: Counts): string {
  return Object.entries(counts)
    .map(
      ([phase, row]) =>
        `${phase}: ${Object.entries(row)
          .map(([k, v]) => `${k}×${v}`)
          .join(' ')}`,
    )
    .join('; ');
}

/** The first time at or after `from`, minus `from`; null when there is none. */
export function firstAfter(times: number[], from: number): number | null {
  const t = times.filter((x) => x >= from).sort((a, b) => a - b)[0];
  return t === undefined ? null : t - from;
}
