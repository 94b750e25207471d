// The processes a run starts: launching and stopping them, pinning them to cores, and reading
// their CPU time and memory from /proc.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from './results.ts';

/** Which cores the server and the load generator run on, when they are pinned at all. */
export interface Pinning {
  readonly pinned: boolean;
  readonly serverCpus: string;
  readonly generatorCpus: string;
}

/** Pins with taskset when it is there, wanted, and the machine has a core for each side. */
export function detectPinning(wanted: boolean): Pinning {
  const cpus = os.cpus().length;
  return Object.freeze({
    pinned: wanted && cpus >= 2 && hasTaskset(),
    serverCpus: '0',
    generatorCpus: cpus > 2 ? `1-${cpus - 1}` : cpus === 2 ? '1' : '0',
  });
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
}

/** Every child process of the run, so that a run that fails still leaves none behind. */
export class Processes {
  private readonly started: ChildProcess[] = [];
  readonly pinning: Pinning;

  constructor(pinning: Pinning) {
    this.pinning = pinning;
  }

  /** Starts a process with its stdout and stderr appended to logFile. */
  launch(cmd: string, args: string[], options: { env: NodeJS.ProcessEnv; logFile: string }): ChildProcess {
    const out = fs.openSync(options.logFile, 'a');
    return this.track(spawn(cmd, args, { env: options.env, stdio: ['ignore', out, out] }));
  }

  track(child: ChildProcess): ChildProcess {
    this.started.push(child);
    return child;
  }

  /** Pins every thread of a process (main, libuv pool, V8 helpers) to the given CPUs. */
  pin(pid: number | undefined, cpus: string): void {
    if (this.pinning.pinned && pid) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
  }

  pinServer(pid: number | undefined): void {
    this.pin(pid, this.pinning.serverCpus);
  }

  pinGenerator(pid: number | undefined): void {
    this.pin(pid, this.pinning.generatorCpus);
  }

  /** Kills whatever is still running. */
  killAll(): void {
    for (const c of this.started) if (c.exitCode === null && c.signalCode === null && c.pid) c.kill('SIGKILL');
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Whether something accepts TCP connections on the port. */
export function listening(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** SIGTERM, then SIGKILL if the process has not exited after timeoutMs. */
export async function stopProcess(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** utime + stime of a process, in microseconds. */
export function procCpuUs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after the name start at field 3 (state); utime is field 14, stime field 15
  const ticks = Number(f[11]) + Number(f[12]);
  return (ticks * 1e6) / 100;
}

export function procRssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** Waits (up to 30 s) until the process uses under 10% of a core over half a second. */
export async function settle(pid: number): Promise<void> {
  await sleep(1000);
  for (let i = 0; i < 60; i++) {
    const c0 = procCpuUs(pid);
    await sleep(500);
    if (procCpuUs(pid) - c0 < 50_000) return;
  }
  log('the server was still busy 30 s after the step');
}
