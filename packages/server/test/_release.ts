import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** An earlier version's server, SDK and protocol, extracted from git beside this checkout. */
export interface Release {
  sha: string;
  root: string;
  bin: string;
  remove(): void;
}

/**
 * Why `sha` cannot be extracted here (no git, a shallow or exported tree), or null when it can.
 * Under CI=true that is an error, never a skip: the upgrade test must run there.
 */
export function releaseUnavailable(sha: string): string | null {
  const r = spawnSync('git', ['-C', ROOT, 'cat-file', '-e', `${sha}^{commit}`], { encoding: 'utf8' });
  const reason = r.error ? `git cannot run (${r.error.message})` : r.status !== 0 ? `commit ${sha} is not in this checkout's history` : null;
  if (reason && process.env.CI === 'true') throw new Error(`The rolling upgrade test must run under CI: ${reason}`);
  if (reason) console.warn(`Skipping the rolling upgrade test: ${reason}`);
  return reason;
}

/**
 * `git archive` of the packages at `sha` into a temp directory, run with this checkout's installed
 * dependencies (the earlier version's are a subset) but its own workspace packages: node_modules is
 * rebuilt of links, @parley/* pointing into the extracted tree.
 */
export function extractRelease(sha: string): Release {
  const root = mkdtempSync(path.join(tmpdir(), `parley-release-${sha.slice(0, 7)}-`));
  // Later trees hold the schema fixtures: more than execFileSync's default 1 MiB of output.
  const archive = execFileSync('git', ['-C', ROOT, 'archive', sha, 'package.json', 'tsconfig.json', 'packages/protocol', 'packages/sdk', 'packages/server'], {
    maxBuffer: 512 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', root], { input: archive });
  const modules = path.join(root, 'node_modules');
  mkdirSync(path.join(modules, '@parley'), { recursive: true });
  for (const entry of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (entry !== '@parley') symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(modules, entry));
  }
  for (const pkg of ['protocol', 'sdk', 'server']) symlinkSync(path.join(root, 'packages', pkg), path.join(modules, '@parley', pkg));
  return { sha, root, bin: path.join(root, 'packages/server/bin/parley.mjs'), remove: () => rmSync(root, { recursive: true, force: true }) };
}
