#!/usr/bin/env node
// Builds the web client when packages/web/dist is missing or older than its sources, so that
// `npm start` on a fresh clone serves the page; when the build is up to date it only compares times.
// A failed or impossible build never stops the server from starting: it then serves the API only.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('..', import.meta.url));
const packages = path.dirname(path.resolve(web));
const built = path.join(web, 'dist', 'index.html');
const sources = [
  path.join(web, 'src'),
  path.join(web, 'public'),
  path.join(web, 'index.html'),
  path.join(web, 'vite.config.ts'),
  path.join(web, 'package.json'),
  path.join(packages, 'sdk', 'src'),
  path.join(packages, 'protocol', 'src'),
];

function newest(p) {
  let st;
  try {
    st = statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(p)) if (name !== 'node_modules') max = Math.max(max, newest(path.join(p, name)));
  return max;
}

/** Builds when needed; returns false when the client could not be built. */
export function ensureBuilt({ quiet = false } = {}) {
  const sourceTime = Math.max(...sources.map(newest));
  if (existsSync(built) && statSync(built).mtimeMs >= sourceTime) return true;
  let viteBin;
  try {
    viteBin = path.join(path.dirname(createRequire(path.join(web, 'package.json')).resolve('vite/package.json')), 'bin', 'vite.js');
  } catch {
    console.warn('parley: vite is not installed (npm ci installs it), so the web client cannot be built; serving the API only');
    return false;
  }
  if (!quiet) console.log('parley: building the web client (packages/web/dist)…');
  // Always a production build, whoever asks: a caller running under NODE_ENV=test (the browser suite builds
  // through here) would otherwise get a build with import.meta.env.PROD false, without its service worker.
  const run = spawnSync(process.execPath, [viteBin, 'build', '--mode', 'production', '--logLevel', quiet ? 'warn' : 'info'], {
    cwd: web,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (run.status !== 0) {
    console.warn('parley: the web client build failed; serving the API only');
    return false;
  }
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ok = ensureBuilt();
  process.exit(ok || !process.argv.includes('--strict') ? 0 : 1);
}
