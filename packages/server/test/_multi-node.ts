import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import WebSocket from 'ws';
import { ParleyClient, ParleyRealtime, type SyncEvent, type WebSocketFactory } from '@parley/sdk';
import { PG_ADMIN_URL, freshStore, type TestStore } from './_harness.ts';
import { spawnServe, type ServeProcess } from './_cli.ts';
import { buildConfig } from '../src/config/config.ts';
import { createContext } from '../src/context.ts';
import { createLogger } from '../src/logger.ts';
import { createInvite } from '../src/modules/invites/invites.ts';

export const REDIS_SERVER = '/usr/bin/redis-server';

/**
 * Why the multi-node suites cannot run here, or null when they can. Under CI=true a missing
 * PostgreSQL or redis-server is an error, never a skip.
 */
export async function multiNodeUnavailable(): Promise<string | null> {
  let reason: string | null = null;
  if (!existsSync(REDIS_SERVER)) reason = `${REDIS_SERVER} is not installed`;
  else {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
    } catch (err) {
      reason = `cannot connect to PostgreSQL at ${PG_ADMIN_URL} (${(err as Error).message})`;
    } finally {
      await client.end().catch(() => {});
    }
  }
  if (reason && process.env.CI === 'true') throw new Error(`The multi-node suite must run under CI: ${reason}`);
  if (reason) console.warn(`Skipping the multi-node suite: ${reason}`);
  return reason;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A redis-server of the suite's own, on its own port, that the suite may stop and start again. */
export class TestRedis {
  readonly port: number;
  private child: ChildProcess | null = null;

  private constructor(port: number) {
    this.port = port;
  }

  static async start(): Promise<TestRedis> {
    const r = new TestRedis(await freePort());
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(REDIS_SERVER, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
      stdio: 'ignore',
    });
    await waitFor(
      'redis-server to answer',
      () => spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG',
      10_000,
      50,
    );
  }

  /** Freezes the server (SIGSTOP): connections stay up and every command waits, as on a stalled Redis. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * A TCP front door: each new connection goes to the first target, in order, that accepts it. Stands in
 * for a load balancer (no sticky sessions: a client whose node died lands on the next one), and, with
 * one target, for a network path to a service that the test can cut and restore.
 */
export class FrontDoor {
  readonly port: number;
  targets: number[];
  /** where the targets listen */
  host = '127.0.0.1';
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  private constructor(port: number, targets: number[]) {
    this.port = port;
    this.targets = targets;
  }

  static async open(targets: number[]): Promise<FrontDoor> {
    const door = new FrontDoor(await freePort(), targets);
    await door.open();
    return door;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  open(): Promise<void> {
    const server = net.createServer((client) => this.route(client));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  private route(client: net.Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => {});
    client.pause();
    const attempt = (i: number) => {
      const port = this.targets[i];
      if (port === undefined || client.destroyed) return void client.destroy();
      const upstream = net.connect(port, this.host);
      const onError = () => attempt(i + 1);
      upstream.once('error', onError);
      upstream.once('connect', () => {
        upstream.off('error', onError);
        upstream.on('error', () => client.destroy());
        this.sockets.add(upstream);
        upstream.on('close', () => {
          this.sockets.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  }

  /** Refuses new connections and cuts the open ones. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise((r) => server.close(r));
  }
}

export interface Node {
  name: string;
  proc: ServeProcess;
  url: string;
  port: number;
}

export async function startNode(name: string, env: Record<string, string>): Promise<Node> {
  const proc = await spawnServe({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: process.env.PARLEY_TEST_LOG ?? 'warn', PARLEY_NODE_ID: name, ...env }, 90_000);
  return { name, proc, url: proc.url, port: Number(new URL(proc.url).port) };
}

/** Makes one invite good for many registrations, straight through the store the nodes share. */
export async function makeInvite(store: TestStore, uses = 100): Promise<string> {
  const config = buildConfig({ LOG_LEVEL: 'silent', ...store.env });
  const ctx = await createContext(config, { log: createLogger('silent') });
  try {
    await ctx.db.migrate();
    return (await createInvite(ctx, null, { maxUses: uses })).code!;
  } finally {
    await ctx.close();
  }
}

export interface Member {
  id: string;
  name: string;
  password: string;
  client: ParleyClient;
  rt: ParleyRealtime;
  events: SyncEvent[];
  presence: { userId: string; online: boolean; lastSeenAt: string | null }[];
  typing: { chatId: string; userId: string }[];
}

/** Registers a user and signs one device in at `baseUrl`, with a realtime client that records what it applies. */
export async function member(baseUrl: string, invite: string, name: string): Promise<Member> {
  const client = new ParleyClient({ baseUrl, userAgent: 'parley-multi-node-tests' });
  const password = `pw-${name}-multi`;
  const me = await client.register({ inviteCode: invite, username: name, password, displayName: name });
  await client.login({ username: name, password, deviceName: `${name}-device` });
  const rt = new ParleyRealtime(client, { WebSocket: WebSocket as unknown as WebSocketFactory, minBackoffMs: 50, maxBackoffMs: 400 });
  const m: Member = { id: me.id, name, password, client, rt, events: [], presence: [], typing: [] };
  rt.on('event', (e) => m.events.push(e));
  rt.on('presence', (p) => m.presence.push(p));
  rt.on('typing', (t) => m.typing.push(t));
  return m;
}

/** The messages a member applied for a chat, in the order applied. */
export function created(m: Member, chatId: string): { seq: number; id: string; text: string | null }[] {
  return m.events
    .filter((e): e is Extract<SyncEvent, { log: 'chat' }> => e.log === 'chat' && e.chatId === chatId && e.type === 'message.created')
    .map((e) => ({ seq: e.seq, id: e.message!.id, text: e.message!.text }));
}

export async function readyz(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.json() };
}

export { freshStore };
