import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { readEnv } from '@parley/server';

export type StoreKind = 'sqlite' | 'postgres';

/** The server's environment variables, as `buildConfig` takes them. */
export type RawEnv = ReturnType<typeof readEnv>;

export const PG_ADMIN_URL = process.env.PARLEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgAvailable: Promise<boolean> | undefined;

async function probePostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (err) {
    // CI must run both dialects: a missing PostgreSQL there is a failure, not a skip.
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
  // Files live beside the database: each store gets its own blob directory.
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-pg-data-'));
  return {
    env: { DATABASE_URL: url.toString(), PARLEY_DATA_DIR: dir },
    async drop() {
      rmSync(dir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
