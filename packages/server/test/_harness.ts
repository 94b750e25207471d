import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ParleyClient, type SessionTokens } from '@parley/sdk';
import { buildConfig } from '../src/config/config.ts';
import type { RawEnv } from '../src/config/env.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import type { ContextOverrides } from '../src/context.ts';
import { createInvite } from '../src/modules/invites/invites.ts';
import { createLogger } from '../src/logger.ts';

export type StoreKind = 'sqlite' | 'postgres';

export const PG_ADMIN_URL = process.env.PARLEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgAvailable: Promise<boolean> | undefined;

async function probePostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`PostgreSQL suite cannot run under CI: ${(err as Error).message}`, { cause: err });
    console.warn(`Skipping the PostgreSQL suite: cannot connect to ${PG_ADMIN_URL} (${(err as Error).message})`);
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The stores every store-dependent suite runs against: SQLite always, PostgreSQL when reachable (always in CI). */
export async function storeKinds(): Promise<StoreKind[]> {
  pgAvailable ??= probePostgres();
  const only = process.env.PARLEY_TEST_STORES?.split(',');
  const kinds: StoreKind[] = ['sqlite'];
  if (await pgAvailable) kinds.push('postgres');
  return only ? kinds.filter((k) => only.includes(k)) : kinds;
}

/** With top-level await in test files: `describe.each(await stores())(...)`. */
export const stores = storeKinds;

export interface TestStore {
  env: RawEnv;
  drop(): Promise<void>;
}

/** A fresh, empty store: a temp directory for SQLite, a new database for PostgreSQL. */
export async function freshStore(kind: StoreKind): Promise<TestStore> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-sqlite-'));
    return { env: { PARLEY_DATA_DIR: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `parley_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString() },
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface TestServer {
  server: RunningServer;
  url: string;
  store: TestStore;
  kind: StoreKind;
  client(options?: { userAgent?: string }): ParleyClient;
  /** An invite made the way the CLI makes it */
  invite(options?: { admin?: boolean; uses?: number; expiresInSeconds?: number | null }): Promise<string>;
  /** Registers a user and signs in one device */
  user(name: string, options?: { device?: string }): Promise<TestUser>;
  close(): Promise<void>;
}

export interface TestUser {
  id: string;
  username: string;
  password: string;
  client: ParleyClient;
  session: SessionTokens;
}

export async function startTestServer(kind: StoreKind, env: RawEnv = {}, overrides: ContextOverrides = {}): Promise<TestServer> {
  const store = await freshStore(kind);
  const config = buildConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...store.env, ...env });
  const server = await startServer(config, { log: createLogger(process.env.PARLEY_TEST_LOG ?? 'silent'), ...overrides });
  const t: TestServer = {
    server,
    url: server.url,
    store,
    kind,
    client: (options = {}) => new ParleyClient({ baseUrl: server.url, userAgent: options.userAgent ?? 'parley-tests' }),
    async invite(options = {}) {
      const invite = await createInvite(server.ctx, null, { admin: options.admin, maxUses: options.uses, expiresInSeconds: options.expiresInSeconds });
      return invite.code!;
    },
    async user(name, options = {}) {
      const client = t.client();
      const password = `pw-${name}-secret`;
      const me = await client.register({ inviteCode: await t.invite(), username: name, password, displayName: name[0]!.toUpperCase() + name.slice(1) });
      const session = await client.login({ username: name, password, deviceName: options.device ?? `${name}-device` });
      return { id: me.id, username: me.username, password, client, session };
    },
    async close() {
      await server.close();
      await store.drop();
    },
  };
  return t;
}
