#!/usr/bin/env node
// Runs the test suites one after another and ends with one plain totals line: "N passed, N failed, N skipped".
//
//   npm test                                    every suite: unit, integration, browser
//   npm test -- --suite unit                    one suite (or several: --suite unit,integration)
//   npm test -- packages/server/test/sync.test.ts   one file (or any vitest filter), in whichever suite holds it
//   npm test -- -t "rejects a reused refresh token"  vitest options pass through
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SUITES = ['unit', 'integration', 'browser'];

const args = process.argv.slice(2);
let selected = SUITES;
const passThrough = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--suite') selected = args[++i].split(',');
  else if (args[i].startsWith('--suite=')) selected = args[i].slice('--suite='.length).split(',');
  else passThrough.push(args[i]);
}
const unknown = selected.filter((s) => !SUITES.includes(s));
if (unknown.length > 0) {
  console.error(`Unknown suite ${unknown.join(', ')}: the suites are ${SUITES.join(', ')}`);
  process.exit(2);
}

const dir = mkdtempSync(path.join(tmpdir(), 'parley-test-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
const byStore = { sqlite: { passed: 0, failed: 0, skipped: 0 }, postgres: { passed: 0, failed: 0, skipped: 0 } };
let exitCode = 0;

function count(report) {
  totals.passed += report.numPassedTests ?? 0;
  totals.failed += report.numFailedTests ?? 0;
  totals.skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // The suites that run on each store say so in their titles: show how many ran on which.
  for (const file of report.testResults ?? []) {
    for (const t of file.assertionResults ?? []) {
      const title = `${(t.ancestorTitles ?? []).join(' ')} ${t.fullName ?? ''}`;
      for (const store of ['sqlite', 'postgres']) {
        if (!new RegExp(`\\b${store}\\b`).test(title)) continue;
        byStore[store][t.status === 'passed' ? 'passed' : t.status === 'failed' ? 'failed' : 'skipped'] += 1;
      }
    }
  }
  if ((report.numFailedTestSuites ?? 0) > 0 && (report.numFailedTests ?? 0) === 0) totals.failed += report.numFailedTestSuites;
}

for (const suite of selected) {
  console.log(`\n=== ${suite} ===`);
  const reportFile = path.join(dir, `${suite}.json`);
  const run = spawnSync(
    'npx',
    ['vitest', 'run', '--project', suite, '--passWithNoTests', '--reporter=default', '--reporter=json', `--outputFile.json=${reportFile}`, ...passThrough],
    { stdio: 'inherit', env: process.env },
  );
  if (run.status !== 0) exitCode = 1;
  if (existsSync(reportFile)) {
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    count(report);
    // vitest fails a run with an unhandled error even when every test passed: the totals say so too.
    if (run.status !== 0 && (report.numFailedTests ?? 0) === 0 && (report.numFailedTestSuites ?? 0) === 0) {
      console.log(`The ${suite} suite exited with status ${run.status} (an unhandled error, see above): counted as one failure`);
      totals.failed += 1;
    }
  } else totals.failed += 1;
}

rmSync(dir, { recursive: true, force: true });
for (const [store, n] of Object.entries(byStore)) console.log(`tests on ${store}: ok ${n.passed}, not ok ${n.failed}, skipped ${n.skipped}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(exitCode || (totals.failed > 0 ? 1 : 0));
