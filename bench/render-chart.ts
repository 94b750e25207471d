// Redraws the chart of a finished run: tsx bench/render-chart.ts bench/results/bench-<time>.jsonl [out.svg]
import fs from 'node:fs';
import { renderChart, type ChartRow } from './report/chart.ts';

const [input, output] = process.argv.slice(2);
if (!input) {
  process.stderr.write('usage: tsx bench/render-chart.ts results.jsonl [out.svg]\n');
  process.exit(2);
}
const rows = fs
  .readFileSync(input, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l))
  .filter((r) => r.kind === 'fanout') as ChartRow[];
fs.writeFileSync(output ?? input.replace(/\.jsonl$/, '.svg'), renderChart(rows));
