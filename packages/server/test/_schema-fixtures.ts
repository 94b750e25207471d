import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Database } from '../src/adapters/db/database.ts';
import { migrationProvider, migrations } from '../src/adapters/db/migrations.ts';
import { schemaSnapshot, type SchemaSnapshot } from '../src/adapters/db/schema-snapshot.ts';
import { buildConfig } from '../src/config/config.ts';
import { freshStore, type StoreKind, type TestStore } from './_harness.ts';

export const FIXTURE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/schema');
/** The frozen schema each migration level produces, on both dialects: `{ "004_files": { sqlite, postgres } }`. */
export const SNAPSHOTS_FILE = path.join(FIXTURE_DIR, 'snapshots.json');

export type Snapshots = Record<string, Record<StoreKind, SchemaSnapshot>>;

/** What a fixture's users read through the SDK when it was made, and what the test reads again. */
export interface FixtureExpectation {
  level: string;
  users: {
    username: string;
    password: string;
    chats: { id: string; kind: string; title: string; memberCount: number; lastSeq: number; readSeq: number }[];
  }[];
  /** Every chat's history as its first member read it, in position order. */
  histories: Record<string, FixtureMessage[]>;
  /** The groups and channels each user is invited to and has not answered, by username. */
  invitations: Record<string, string[]>;
  /** The sha256 of every file a message carries, by file id. */
  files: Record<string, string>;
}

export interface FixtureMessage {
  id: string;
  seq: number;
  senderId: string;
  text: string | null;
  replyToId: string | null;
  edited: boolean;
  deleted: boolean;
  attachments?: { fileId: string; name: string | null; mimeType: string | null; size: number }[];
}

/** "004_files" → "after-004": the name a level's fixture files start with. */
export function fixtureName(level: string): string {
  return `after-${level.slice(0, 3)}`;
}

export const fixturePaths = (level: string) => {
  const base = path.join(FIXTURE_DIR, fixtureName(level));
  return { sqlite: `${base}.sqlite`, postgres: `${base}.pg.sql`, expected: `${base}.expected.json`, blobs: `${base}.blobs` };
};

/** The levels that have a data fixture, oldest first. */
export function fixtureLevels(): string[] {
  return Object.keys(migrations)
    .sort()
    .filter((level) => existsSync(fixturePaths(level).expected));
}

export function readSnapshots(): Snapshots {
  return existsSync(SNAPSHOTS_FILE) ? (JSON.parse(readFileSync(SNAPSHOTS_FILE, 'utf8')) as Snapshots) : {};
}

export function readExpectation(level: string): FixtureExpectation {
  return JSON.parse(readFileSync(fixturePaths(level).expected, 'utf8')) as FixtureExpectation;
}

/** A Kysely over a store's database, for the tests' and the fixture script's own reads and writes. */
export async function openStore(store: TestStore): Promise<Database> {
  return Database.open(buildConfig({ LOG_LEVEL: 'silent', ...store.env }).db);
}

/** Applies the current migrations up to and including `level`. */
export async function migrateTo(db: Kysely<unknown>, level: string): Promise<void> {
  const { error } = await new Migrator({ db, provider: migrationProvider }).migrateTo(level);
  if (error) throw error;
}

/** The schema of a store, as the snapshots hold it. */
export async function snapshotOf(store: TestStore, kind: StoreKind): Promise<SchemaSnapshot> {
  const db = await openStore(store);
  try {
    return await schemaSnapshot(db.kysely as unknown as Kysely<unknown>, kind);
  } finally {
    await db.close();
  }
}

/** A fresh store holding a level's fixture, blobs included, exactly as it was frozen. */
export async function loadFixture(kind: StoreKind, level: string): Promise<TestStore> {
  const paths = fixturePaths(level);
  const store = await freshStore(kind);
  const dataDir = store.env.PARLEY_DATA_DIR!;
  if (kind === 'sqlite') copyFileSync(paths.sqlite, path.join(dataDir, 'parley.sqlite'));
  else {
    const client = new pg.Client({ connectionString: store.env.DATABASE_URL });
    await client.connect();
    try {
      // A plain pg_dump with INSERTs: one multi-statement text through the simple query protocol.
      await client.query(readFileSync(paths.postgres, 'utf8'));
    } finally {
      await client.end();
    }
  }
  if (existsSync(paths.blobs)) {
    const blobDir = path.join(dataDir, 'blobs');
    mkdirSync(blobDir, { recursive: true });
    for (const f of readdirSync(paths.blobs)) copyFileSync(path.join(paths.blobs, f), path.join(blobDir, f));
  }
  return store;
}

/** A SQLite database with small pages (the fixtures live in the repository), for the fixture script. */
export function smallSqlite(file: string): Kysely<unknown> {
  const sqlite = new SQLite(file);
  sqlite.pragma('page_size = 1024');
  sqlite.pragma('foreign_keys = ON');
  return new Kysely({ dialect: new SqliteDialect({ database: sqlite }) });
}
