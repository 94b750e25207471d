// The stores a scenario runs on: a database of its own on the local PostgreSQL, a private Redis
// and a private PostgreSQL cluster, each removed by the harness's clean-up.
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { listening } from '../../bench/procs.ts';
import { freePort, killChild, type Harness } from './harness.ts';

/** The local PostgreSQL server the run may create a database on (trust auth). */
export const LOCAL_POSTGRES = process.env.RELIABILITY_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Creates parley_rel_<pid>_<label> on the server `base` names, dropped at clean-up; returns its URL. */
export async function createDatabase(h: Harness, base: string, label: string): Promise<string> {
  const name = `parley_rel_${process.pid}_${label}`;
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: base });
    c.on('error', () => {});
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`create database ${name}`);
  h.onCleanup(`drop database ${name}`, () => run(`drop database if exists ${name} with (force)`));
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A redis-server of the run's own, without persistence, that can be killed and started again on its port. */
export class PrivateRedis {
  readonly port: number;
  private proc: ChildProcess | null = null;
  private readonly h: Harness;

  private constructor(h: Harness, port: number) {
    this.h = h;
    this.port = port;
  }

  static async start(h: Harness): Promise<PrivateRedis> {
    const r = new PrivateRedis(h, await freePort());
    await r.start();
    h.onCleanup('stop the private Redis', () => r.stop());
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
    this.proc = this.h.launch('redis-server', args, { logFile: path.join(this.h.tmpRoot, 'redis.log') });
    for (let i = 0; !(await listening(this.port)); i++) {
      if (i > 100) throw new Error('the private Redis did not come up in 10 s');
      await sleep(100);
    }
  }

  /** SIGKILL of its PID: the nodes see their connections reset and cannot reconnect until start(). */
  async kill(): Promise<void> {
    if (this.proc) await killChild(this.proc, 'SIGKILL');
    this.proc = null;
  }

  async stop(): Promise<void> {
    if (this.proc) await killChild(this.proc, 'SIGTERM');
    this.proc = null;
  }
}

/**
 * A PostgreSQL 15 cluster of the run's own in a scratch directory, with trust auth on 127.0.0.1.
 * initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
 */
export class PrivateCluster {
  readonly port: number;
  readonly dir: string;
  private readonly asUser: string[];

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
    this.asUser = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  }

  static async create(h: Harness): Promise<PrivateCluster> {
    const dir = fs.mkdtempSync('/tmp/parley-rel-pg-');
    const c = new PrivateCluster(dir, await freePort());
    if (c.asUser.length > 0) execFileSync('chown', ['postgres:postgres', dir]);
    h.onCleanup('remove the private PostgreSQL cluster', async () => {
      try {
        c.ctl(['stop', '-m', 'fast']);
      } catch {
        /* already stopped */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    });
    c.exec('/usr/local/bin/initdb', ['-D', path.join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync']);
    c.start();
    return c;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  start(): void {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=on`;
    this.ctl(['start', '-w', '-t', '30', '-o', opts, '-l', path.join(this.dir, 'postgres.log')]);
  }

  /** `pg_ctl stop -m immediate`: every backend ends at once, as in a crash; restart replays the WAL. */
  stopImmediate(): void {
    this.ctl(['stop', '-m', 'immediate']);
  }

  private ctl(args: string[]): void {
    this.exec('/usr/local/bin/pg_ctl', ['-D', path.join(this.dir, 'data'), '-w', ...args]);
  }

  private exec(bin: string, args: string[]): void {
    const [cmd, ...rest] = [...this.asUser, bin, ...args];
    execFileSync(cmd!, rest, { stdio: 'ignore', cwd: '/tmp' });
  }
}
