import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openBlobStore } from '../adapters/blobs/open-blob-store.ts';
import type { Config } from '../config/config.ts';
import { PARLEY_VERSION } from '../version.ts';
import { BLOB_DIR, COUNTED, MANIFEST, digest, digestFile, type Manifest, runTool } from './manifest.ts';

/** The tables a snapshot has, by name. */
const TABLES = {
  sqlite: "select name from sqlite_master where type = 'table'",
  postgres: 'select table_name as name from information_schema.tables where table_schema = current_schema()',
};

/** What a snapshot says, read inside the snapshot itself. */
interface SnapshotFacts {
  schema: string[];
  counts: Manifest['counts'];
  files: { id: string; size: number; sha256: string | null }[];
}

type Query = (sql: string) => Promise<Record<string, unknown>[]>;

async function factsOf(query: Query, tables: string): Promise<SnapshotFacts> {
  const schema = (await query('select name from kysely_migration order by name')).map((r) => String(r.name));
  const present = new Set((await query(tables)).map((r) => String(r.name)));
  const counts: Manifest['counts'] = {};
  for (const table of COUNTED) if (present.has(table)) counts[table] = Number((await query(`select count(*) as n from ${table}`))[0]!.n);
  const files = (await query("select id, size, sha256 from files where state = 'ready' order by id")).map((r) => ({
    id: String(r.id),
    size: Number(r.size),
    sha256: r.sha256 === null || r.sha256 === undefined ? null : String(r.sha256),
  }));
  return { schema, counts, files };
}

/** SQLite's online backup API: a consistent copy while the server keeps writing, never a file copy. */
async function snapshotSqlite(config: Extract<Config['db'], { kind: 'sqlite' }>, dest: string): Promise<SnapshotFacts> {
  const { default: SQLite } = await import('better-sqlite3');
  if (!existsSync(config.file)) throw new Error(`There is no database at ${config.file}: check PARLEY_DATA_DIR`);
  const live = new SQLite(config.file, { readonly: true, fileMustExist: true });
  try {
    // All remaining pages in one step, so a writer in between cannot restart it for ever.
    await live.backup(dest, { progress: ({ remainingPages }) => Math.max(remainingPages, 100) });
  } finally {
    live.close();
  }
  const copy = new SQLite(dest, { readonly: true });
  try {
    return await factsOf(async (sql) => copy.prepare(sql).all() as Record<string, unknown>[], TABLES.sqlite);
  } finally {
    copy.close();
  }
}

/**
 * pg_dump of one exported snapshot: the facts are read in the transaction that exported it, so
 * the dump and the manifest describe the same moment while the nodes keep writing.
 */
async function snapshotPostgres(config: Extract<Config['db'], { kind: 'postgres' }>, dest: string): Promise<SnapshotFacts> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    await client.query('begin isolation level repeatable read read only');
    const snapshot = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0]!.id;
    const facts = await factsOf(async (sql) => (await client.query(sql)).rows, TABLES.postgres);
    await runTool('pg_dump', ['--format=custom', '--no-owner', `--snapshot=${snapshot}`, `--file=${dest}`, `--dbname=${config.url}`]);
    await client.query('commit');
    return facts;
  } finally {
    await client.end();
  }
}

/**
 * `parley backup <dir>`: a consistent snapshot of the database and a copy of every finished file,
 * while the server runs, with a manifest (version, schema, counts, checksums) written last, so a
 * backup that did not finish has none and is refused by restore.
 */
export async function backup(config: Config, dir: string, say: (line: string) => void): Promise<Manifest> {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} is not empty: back up into a new directory`);
  mkdirSync(path.join(dir, BLOB_DIR), { recursive: true, mode: 0o700 });
  const store = config.db.kind;
  const file = store === 'sqlite' ? 'parley.sqlite' : 'parley.pgdump';
  const dbPath = path.join(dir, file);
  const facts = config.db.kind === 'sqlite' ? await snapshotSqlite(config.db, dbPath) : await snapshotPostgres(config.db, dbPath);
  const { messages, users, files, devices, mls_commits: commits } = facts.counts;
  say(
    `Database: ${messages} messages, ${users} accounts, ${files} files, ${devices ?? 0} E2EE devices, ${commits ?? 0} MLS commits (schema ${facts.schema.at(-1)})`,
  );

  const blobs = await openBlobStore(config.files);
  const copied: Manifest['blobs']['files'] = [];
  try {
    for (const f of facts.files) {
      let source;
      try {
        source = await blobs.read(f.id);
      } catch {
        // Collected after the snapshot: only files no message or picture held any more go.
        say(`File ${f.id} was collected while the backup ran (nothing referenced it): left out`);
        continue;
      }
      const tee = new PassThrough();
      const [got] = await Promise.all([digest(tee), pipeline(source, tee, createWriteStream(path.join(dir, BLOB_DIR, f.id), { mode: 0o600 }))]);
      if (got.bytes !== f.size || (f.sha256 !== null && got.sha256 !== f.sha256))
        throw new Error(`File ${f.id} in the blob store does not match its record (${got.bytes} bytes, sha256 ${got.sha256}): the store is damaged`);
      copied.push({ id: f.id, bytes: got.bytes, sha256: got.sha256 });
    }
  } finally {
    await blobs.close();
  }

  const manifest: Manifest = {
    format: 'parley-backup',
    formatVersion: 1,
    parleyVersion: PARLEY_VERSION,
    createdAt: new Date().toISOString(),
    schema: facts.schema,
    store,
    database: { file, ...(await digestFile(dbPath)) },
    counts: facts.counts,
    blobs: { from: config.files.store.kind, files: copied },
  };
  const tmp = path.join(dir, `${MANIFEST}.partial`);
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path.join(dir, MANIFEST));
  const mib = copied.reduce((a, f) => a + f.bytes, 0) / 1024 / 1024;
  say(`Files: ${copied.length} (${mib.toFixed(1)} MiB) from the ${config.files.store.kind === 's3' ? 'S3 bucket' : 'blob directory'}`);
  return manifest;
}
