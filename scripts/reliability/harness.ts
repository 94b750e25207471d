// What a reliability run owns: its scratch directory, the processes it started (stopped by PID,
// never by name) and the clean-up steps (databases, clusters), undone in reverse order at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PARLEY_BIN } from '../../bench/context.ts';
import { freePort } from '../../bench/procs.ts';
import { parleyEnv } from '../../bench/targets.ts';
import type { StoreMode } from '../../bench/stores.ts';

export { freePort };

/** A Parley node the run started: its port stays the same across restarts. */
export interface Node {
  readonly name: string;
  readonly url: string;
  readonly env: NodeJS.ProcessEnv;
  proc: ChildProcess;
  readonly logFile: string;
}

export function log(line: string): void {
  process.stdout.write(`[reliability ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

export class Harness {
  readonly tmpRoot: string;
  private readonly children = new Set<ChildProcess>();
  private readonly cleanups: { name: string; fn: () => Promise<void> | void }[] = [];

  constructor(label: string) {
    this.tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), `parley-rel-${label}-`));
  }

  /** Starts a process with stdout and stderr appended to logFile; it is killed at the end if still running. */
  launch(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; logFile: string }): ChildProcess {
    const out = fs.openSync(options.logFile, 'a');
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Registers a clean-up step; steps run last-registered first. */
  onCleanup(name: string, fn: () => Promise<void> | void): void {
    this.cleanups.push({ name, fn });
  }

  /** Starts `parley serve` on the store, on a free port, and waits for /healthz. */
  async startNode(name: string, store: StoreMode, extraEnv: NodeJS.ProcessEnv = {}): Promise<Node> {
    const port = await freePort();
    const dataDir = path.join(this.tmpRoot, `data-${name}`);
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const env = { ...parleyEnv(store, { dataDir, port }), ...extraEnv };
    const logFile = path.join(this.tmpRoot, `${name}.log`);
    const node: Node = { name, url: `http://127.0.0.1:${port}`, env, proc: this.spawnNode(env, logFile), logFile };
    await this.waitHealthy(node);
    return node;
  }

  /** Starts the node's process again, on the same port and data, and waits for /healthz. */
  async restartNode(node: Node): Promise<number> {
    const t = Date.now();
    node.proc = this.spawnNode(node.env, node.logFile);
    await this.waitHealthy(node);
    return Date.now() - t;
  }

  /** SIGKILL of the node's own PID; resolves once it has exited. */
  async killNode(node: Node): Promise<void> {
    await killChild(node.proc, 'SIGKILL');
  }

  private spawnNode(env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
    return this.launch(process.execPath, [PARLEY_BIN, 'serve'], { env, logFile });
  }

  private async waitHealthy(node: Node): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (node.proc.exitCode !== null) throw new Error(`node ${node.name} exited with ${node.proc.exitCode}; see ${node.logFile}`);
      try {
        const res = await fetch(`${node.url}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`node ${node.name} did not come up in 60 s; see ${node.logFile}`);
      await sleep(50);
    }
  }

  /** Kills the processes still running (by PID), runs the clean-up steps, removes the scratch directory. */
  async close({ keep }: { keep: boolean }): Promise<void> {
    await Promise.all([...this.children].map((c) => killChild(c, 'SIGTERM', 5000)));
    for (const { name, fn } of this.cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log(`clean-up "${name}" failed: ${(err as Error).message}`);
      }
    }
    if (keep) log(`logs kept in ${this.tmpRoot}`);
    else fs.rmSync(this.tmpRoot, { recursive: true, force: true });
  }
}

/** Sends the signal to the child's PID and waits for it to exit (SIGKILL after graceMs). */
export async function killChild(child: ChildProcess, signal: NodeJS.Signals, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A [min, max) random number. */
export function between(min: number, max: number): number {
  return min + Math.random() * (max - min);
}
