// The servers under measurement: Parley (its own process, as in production) and the baseline.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_DIR, PARLEY_BIN, type BenchContext } from './context.ts';
import { freePort, listening } from './procs.ts';
import type { TargetName } from './rows.ts';
import type { StoreMode } from './stores.ts';

export interface Target {
  name: TargetName;
  store: string;
  url: string;
  wsUrl: string;
  proc: ChildProcess;
}

export interface ParleyInstance extends Target {
  name: 'parley';
  env: NodeJS.ProcessEnv;
  dataDir: string;
}

/**
 * The server's environment: limits raised so that the bench measures throughput rather than
 * limits, and logging at warn (at info every set-up request would be logged).
 */
export function parleyEnv(store: StoreMode, { dataDir, port }: { dataDir: string; port: number }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    PARLEY_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    PARLEY_MESSAGE_RATE: '1000000/1s',
    PARLEY_LOGIN_LIMIT: '1000000/1s',
    // The load generator's users read and create as fast as they can: the bench measures the node, not its limits.
    PARLEY_READ_RATE: '1000000/1s',
    PARLEY_READS_IN_FLIGHT: '1000',
    PARLEY_WRITE_RATE: '1000000/1s',
    PARLEY_MAX_SESSIONS: '1000',
    PARLEY_MAX_CHATS_PER_USER: '100000',
    PARLEY_ACCESS_TOKEN_TTL: '86400',
    PARLEY_INVITES_PER_DAY: '100000',
    PARLEY_UPLOAD_BYTES_PER_HOUR: String(1024 ** 4),
    PARLEY_MAX_UNFINISHED_UPLOADS: '1000',
    NODE_OPTIONS: '',
  };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  if (store.databaseUrl) env.DATABASE_URL = store.databaseUrl;
  if (store.redisUrl) env.REDIS_URL = store.redisUrl;
  return env;
}

/** Starts `parley serve` and waits for /healthz (up to 30 s). */
export async function startParley(
  ctx: BenchContext,
  server: { env: NodeJS.ProcessEnv; store: string; dataDir: string; nodeFlags?: string[] },
): Promise<ParleyInstance> {
  const { env, store, dataDir } = server;
  const logFile = path.join(ctx.tmpRoot, `parley-${store}.log`);
  const proc = ctx.procs.launch(process.execPath, [...(server.nodeFlags ?? []), PARLEY_BIN, 'serve'], { env, logFile });
  const url = `http://127.0.0.1:${env.PORT}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`the Parley server exited with ${proc.exitCode}; see ${logFile}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (i > 300) throw new Error('the Parley server did not come up in 30 s');
    await sleep(100);
  }
  return { name: 'parley', store, url, wsUrl: `ws://127.0.0.1:${env.PORT}/api/v1/ws`, proc, env, dataDir };
}

/** Starts bench/baseline-server.ts (or another of the bench's servers) with the given arguments, pinned like the server. */
export async function startBaseline(ctx: BenchContext, args: string[], script = path.join(BENCH_DIR, 'baseline-server.ts')): Promise<Target> {
  const port = await freePort();
  // `node --import tsx`, not the tsx CLI: the CLI would run the server in a child process and
  // the CPU and memory read from /proc would be the wrapper's.
  const proc = ctx.procs.launch(process.execPath, ['--import', 'tsx', script, '--port', String(port), ...args], {
    env: { ...process.env, NODE_OPTIONS: '' },
    logFile: path.join(ctx.tmpRoot, 'baseline.log'),
  });
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`the baseline server exited with ${proc.exitCode}`);
    if (await listening(port)) break;
    if (i > 300) throw new Error('the baseline server did not come up in 30 s');
    await sleep(100);
  }
  ctx.procs.pinServer(proc.pid);
  return { name: 'baseline', store: 'sqlite', url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/`, proc };
}
