// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by source
// area (Parley's own modules, each dependency, Node internals, GC, idle).
//   tsx bench/profile-summary.ts file.cpuprofile [top]
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  byFunction: { name: string; where: string; selfMs: number; pct: number }[];
  byArea: { area: string; selfMs: number; pct: number }[];
  /** time whose stack passes through each of these Parley functions (inclusive) */
  inclusive: { name: string; ms: number; pct: number }[];
}

function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'native/program';
  if (!url) return 'native';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = /packages\/([^/]+)\/src\/(.*)$/.exec(url);
  if (m) return `parley:${m[1]}/${m[2]!.split('/').slice(0, -1).join('/') || m[2]}`;
  if (url.startsWith('node:')) return url;
  return url
    .replace(/^file:\/\//, '')
    .split('/')
    .slice(-2)
    .join('/');
}

/** window: only samples taken between these monotonic-clock microseconds (process.hrtime) count */
export function summarise(file: string, top = 25, window?: { from: number; to: number }): ProfileSummary {
  const p: Profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (window && (t < window.from || t > window.to)) continue;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  }
  let total = 0;
  let idle = 0;
  const fnSelf = new Map<string, { name: string; where: string; ms: number }>();
  const areaSelf = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const cf = n.callFrame;
    total += ms;
    if (cf.functionName === '(idle)') {
      idle += ms;
      continue;
    }
    const where = `${cf.url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${cf.lineNumber + 1}`;
    const key = `${cf.functionName || '(anonymous)'} ${where}`;
    const f = fnSelf.get(key) ?? { name: cf.functionName || '(anonymous)', where, ms: 0 };
    f.ms += ms;
    fnSelf.set(key, f);
    const a = area(cf.url, cf.functionName);
    areaSelf.set(a, (areaSelf.get(a) ?? 0) + ms);
    // Inclusive time of Parley functions on this stack (each counted once per stack).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const c = byId.get(cur)!.callFrame;
      if (!/packages\/server\/src\//.test(c.url)) continue;
      const k = `${c.functionName || '(anonymous)'} ${c.url.replace(/^.*packages\/server\/src\//, '')}`;
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + ms);
    }
  }
  const busy = total - idle;
  const pct = (ms: number) => Math.round((1000 * ms) / busy) / 10;
  return {
    totalMs: Math.round(total),
    idleMs: Math.round(idle),
    byFunction: [...fnSelf.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: Math.round(f.ms), pct: pct(f.ms) })),
    byArea: [...areaSelf.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([a, ms]) => ({ area: a, selfMs: Math.round(ms), pct: pct(ms) })),
    inclusive: [...incl.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: pct(ms) })),
  };
}

export function formatSummary(s: ProfileSummary): string {
  const lines = [`busy ${s.totalMs - s.idleMs} ms of ${s.totalMs} ms sampled (percentages are of busy time)`, '', 'Self time by area:'];
  for (const a of s.byArea) lines.push(`  ${a.pct.toFixed(1).padStart(5)}%  ${a.area}`);
  lines.push('', 'Self time by function:');
  for (const f of s.byFunction) lines.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.name}  (${f.where})`);
  lines.push('', 'Inclusive time of server functions:');
  for (const f of s.inclusive) lines.push(`  ${f.pct.toFixed(1).padStart(5)}%  ${f.name}`);
  return lines.join('\n');
}

if (process.argv[1] && /profile-summary\.ts$/.test(process.argv[1])) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: tsx bench/profile-summary.ts file.cpuprofile [top]\n');
    process.exit(2);
  }
  process.stdout.write(formatSummary(summarise(file, Number(process.argv[3] ?? 25))) + '\n');
}
