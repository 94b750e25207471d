#!/usr/bin/env node
// Runs every test suite and ends with one plain totals line: "N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dir = mkdtempSync(path.join(tmpdir(), 'parley-test-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
const byStore = { sqlite: { passed: 0, failed: 0, skipped: 0 }, postgres: { passed: 0, failed: 0, skipped: 0 } };
let exitCode = 0;

function suite(name, command, args, reportFile) {
  console.log(`\n=== ${name} ===`);
  const run = spawnSync(command, args, { stdio: 'inherit', env: process.env });
  if (run.status !== 0) exitCode = 1;
  if (existsSync(reportFile)) {
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
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
  } else {
    totals.failed += 1;
  }
}

const vitestReport = path.join(dir, 'vitest.json');
suite('unit, API and realtime tests (vitest)', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestReport}`, ...process.argv.slice(2)], vitestReport);

rmSync(dir, { recursive: true, force: true });
for (const [store, n] of Object.entries(byStore)) console.log(`tests on ${store}: ok ${n.passed}, not ok ${n.failed}, skipped ${n.skipped}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(exitCode || (totals.failed > 0 ? 1 : 0));
