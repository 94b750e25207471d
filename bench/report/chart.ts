// A hand-written SVG chart: end-to-end latency (p50, p99) and server CPU per delivery against
// the send rate, for Parley and the baseline.
import type { FanoutRow } from '../rows.ts';

/** The fields of a fan-out row the chart draws. */
export type ChartRow = Pick<FanoutRow, 'target' | 'store' | 'workload' | 'rate' | 'p50' | 'p99' | 'serverCpuUsPerDelivery'>;

const W = 460;
const H = 300;
const M = { l: 58, r: 16, t: 34, b: 44 };
const COLORS: Record<string, string> = { parley: '#c2410c', baseline: '#1d4ed8' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

interface Series {
  label: string;
  color: string;
  dash: string;
  points: [number, number][];
}

function panel(x0: number, title: string, yLabel: string, series: Series[], log: boolean): string {
  const all = series.flatMap((s) => s.points);
  const xMax = niceMax(Math.max(...all.map((p) => p[0]), 1));
  const yVals = all.map((p) => p[1]).filter((v) => v > 0);
  const yMin = log ? 10 ** Math.floor(Math.log10(Math.min(...yVals, 1))) : 0;
  const yMax = log ? 10 ** Math.ceil(Math.log10(Math.max(...yVals, 1))) : niceMax(Math.max(...yVals, 1));
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const sx = (x: number) => x0 + M.l + (x / xMax) * pw;
  const logY = (y: number) => (Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin));
  const sy = (y: number) => M.t + ph - (log ? logY(y) : y / yMax) * ph;
  const out: string[] = [];
  out.push(`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  out.push(`<rect x="${x0 + M.l}" y="${M.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (let i = 0; i <= 5; i++) {
    const x = (xMax * i) / 5;
    out.push(
      `<line x1="${sx(x)}" y1="${M.t + ph}" x2="${sx(x)}" y2="${M.t + ph + 4}" stroke="#999"/>` +
        `<text x="${sx(x)}" y="${M.t + ph + 16}" text-anchor="middle">${x}</text>`,
    );
  }
  const ticks: number[] = [];
  if (log) for (let v = yMin; v <= yMax * 1.0001; v *= 10) ticks.push(v);
  else for (let i = 0; i <= 5; i++) ticks.push((yMax * i) / 5);
  for (const y of ticks) {
    out.push(
      `<line x1="${x0 + M.l}" y1="${sy(y)}" x2="${x0 + M.l + pw}" y2="${sy(y)}" stroke="#eee"/>` +
        `<text x="${x0 + M.l - 6}" y="${sy(y) + 4}" text-anchor="end">${y}</text>`,
    );
  }
  out.push(`<text x="${x0 + M.l + pw / 2}" y="${H - 8}" text-anchor="middle">sends per second</text>`);
  out.push(`<text transform="translate(${x0 + 14},${M.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>`);
    for (const p of s.points) out.push(`<circle cx="${sx(p[0]).toFixed(1)}" cy="${sy(p[1]).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
  }
  let ly = M.t + 12;
  for (const s of series) {
    if (s.points.length === 0) continue;
    out.push(
      `<line x1="${x0 + M.l + 8}" y1="${ly - 4}" x2="${x0 + M.l + 30}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2" stroke-dasharray="${s.dash}"/>` +
        `<text x="${x0 + M.l + 34}" y="${ly}">${esc(s.label)}</text>`,
    );
    ly += 14;
  }
  return out.join('\n');
}

export function renderChart(rows: ChartRow[]): string {
  const keys = [...new Set(rows.map((r) => `${r.target}|${r.store}|${r.workload}`))];
  const lat: Series[] = [];
  const cpu: Series[] = [];
  for (const key of keys) {
    const [target, store, workload] = key.split('|') as [string, string, string];
    // one point per rate: the last attempt (a failed step is tried twice)
    const byRate = new Map<number, ChartRow>();
    for (const r of rows) if (r.target === target && r.store === store && r.workload === workload) byRate.set(r.rate, r);
    const rs = [...byRate.values()].sort((a, b) => a.rate - b.rate);
    const color = COLORS[target] ?? '#444';
    const variant = workload !== 'groups';
    const name = `${target}${store !== 'sqlite' ? `/${store}` : ''}${variant ? ` (${workload})` : ''}`;
    if (variant && workload.includes('profiled')) continue;
    lat.push({ label: `${name} p99`, color, dash: variant ? '6 3' : '', points: rs.map((r) => [r.rate, r.p99]) });
    if (!variant) lat.push({ label: `${name} p50`, color, dash: '2 2', points: rs.map((r) => [r.rate, r.p50]) });
    const cpuPoints = rs.filter((r) => r.serverCpuUsPerDelivery !== null).map((r): [number, number] => [r.rate, r.serverCpuUsPerDelivery!]);
    cpu.push({ label: name, color, dash: variant ? '6 3' : '', points: cpuPoints });
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" viewBox="0 0 ${2 * W} ${H}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="white"/>',
    panel(0, 'End-to-end latency', 'ms (log scale)', lat, true),
    panel(W, 'Server CPU per delivery', 'CPU µs per delivery', cpu, false),
    '</svg>',
    '',
  ].join('\n');
}
