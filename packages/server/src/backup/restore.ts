import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { openBlobStore } from '../adapters/blobs/open-blob-store.ts';
import { Database } from '../adapters/db/database.ts';
import { migrations } from '../adapters/db/migrations.ts';
import type { Config } from '../config/config.ts';
import { BLOB_DIR, COUNTED, MANIFEST, digest, digestFile, parseManifest, type Manifest, runTool } from './manifest.ts';

/**
 * With S3 the command writes nothing to the bucket: the backup's files must be there already (the
 * bucket the backup was made from, kept by versioning, or a copy of blobs/ put there by the
 * operator). Each is checked against the manifest's size and sha256.
 */
async function bucketProblems(m: Manifest, dir: string, config: Config): Promise<string[]> {
  if (config.files.store.kind !== 's3' || m.blobs.files.length === 0) return [];
  const bucket = config.files.store.bucket;
  const problems: string[] = [];
  const absent: string[] = [];
  const blobs = await openBlobStore(config.files);
  try {
    for (const f of m.blobs.files) {
      const size = await blobs.size(f.id);
      if (size === null) absent.push(f.id);
      else if (size !== f.bytes || (await digest(await blobs.read(f.id))).sha256 !== f.sha256)
        problems.push(
          `File ${f.id} in the bucket ${bucket} differs from the backup's (${size} bytes, expected ${f.bytes}): put ${BLOB_DIR}/${f.id} there again`,
        );
    }
  } catch (err) {
    problems.push(`The bucket ${bucket} could not be read (${(err as Error).message}): check the PARLEY_S3_* settings`);
  } finally {
    await blobs.close();
  }
  if (absent.length > 0)
    problems.push(
      `${absent.length} of the backup's ${m.blobs.files.length} files are not in the bucket ${bucket} (${absent.slice(0, 5).join(', ')}${absent.length > 5 ? ', …' : ''}): ` +
        `parley restore does not write to S3; copy them in under the same keys first, e.g. aws s3 cp --recursive ${path.join(dir, BLOB_DIR)} s3://${bucket}/, then restore again`,
    );
  return problems;
}

/** Everything that makes the backup unusable here, checked before anything is written. */
async function problemsOf(m: Manifest, dir: string, config: Config): Promise<string[]> {
  const problems: string[] = [];
  const known = Object.keys(migrations);
  const unknown = m.schema.filter((name) => !known.includes(name));
  if (unknown.length > 0)
    problems.push(`The backup's schema has ${unknown.join(', ')}, which this Parley does not know: it was made by a newer version; upgrade first`);
  else if (m.schema.some((name, i) => known[i] !== name)) problems.push(`The backup's migrations (${m.schema.join(', ')}) are not in this Parley's order`);
  if (m.store !== config.db.kind)
    problems.push(
      `The backup is of ${m.store === 'sqlite' ? 'SQLite' : 'PostgreSQL'} and this configuration uses ${config.db.kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`,
    );
  const dbFile = path.join(dir, m.database.file);
  if (!existsSync(dbFile)) problems.push(`The database file ${m.database.file} is missing`);
  else {
    const got = await digestFile(dbFile);
    if (got.sha256 !== m.database.sha256 || got.bytes !== m.database.bytes)
      problems.push(`The database file ${m.database.file} does not match the manifest (${got.bytes} bytes, expected ${m.database.bytes}): it is damaged`);
  }
  for (const f of m.blobs.files) {
    const file = path.join(dir, BLOB_DIR, f.id);
    if (!existsSync(file)) {
      problems.push(`File ${f.id} is missing from ${BLOB_DIR}/`);
      continue;
    }
    const got = await digestFile(file);
    if (got.sha256 !== f.sha256 || got.bytes !== f.bytes) problems.push(`File ${f.id} does not match the manifest: it is damaged`);
  }
  if (problems.length === 0) problems.push(...(await bucketProblems(m, dir, config)));
  return problems;
}

/** Refuses a target that holds anything: a restore never merges into live data. */
async function requireEmptyTarget(config: Config): Promise<void> {
  if (config.db.kind === 'sqlite') {
    if (existsSync(config.db.file) && statSync(config.db.file).size > 0)
      throw new Error(`${config.db.file} already exists: restore into an empty data directory (PARLEY_DATA_DIR)`);
  } else {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: config.db.url });
    await client.connect();
    try {
      const n = Number((await client.query("select count(*) as n from information_schema.tables where table_schema = 'public'")).rows[0].n);
      if (n > 0) throw new Error('The database named by DATABASE_URL has tables: restore into an empty database');
    } finally {
      await client.end();
    }
  }
  if (config.files.store.kind === 'local' && existsSync(config.files.blobDir) && readdirSync(config.files.blobDir).length > 0)
    throw new Error(`${config.files.blobDir} is not empty: restore into an empty blob directory`);
}

/**
 * `parley restore <dir>`: checks the whole backup first (manifest, schema, every checksum) and the
 * target (empty), then puts the database and the files in place, applies the migrations this
 * version has beyond the backup's, and compares the row counts with the manifest.
 */
export async function restore(config: Config, dir: string, say: (line: string) => void): Promise<Manifest> {
  const manifestFile = path.join(dir, MANIFEST);
  if (!existsSync(manifestFile)) throw new Error(`${dir} has no ${MANIFEST}: it is not a backup, or one that did not finish`);
  const m = parseManifest(readFileSync(manifestFile, 'utf8'));
  const problems = await problemsOf(m, dir, config);
  if (problems.length > 0) throw new Error(`The backup in ${dir} cannot be restored:\n  - ${problems.slice(0, 20).join('\n  - ')}`);
  await requireEmptyTarget(config);

  const dbFile = path.join(dir, m.database.file);
  if (config.db.kind === 'sqlite') {
    mkdirSync(config.db.dataDir, { recursive: true, mode: 0o700 });
    copyFileSync(dbFile, config.db.file);
    chmodSync(config.db.file, 0o600);
  } else await runTool('pg_restore', ['--no-owner', '--exit-on-error', `--dbname=${config.db.url}`, dbFile]);
  if (m.blobs.files.length > 0 && config.files.store.kind === 'local') {
    mkdirSync(config.files.blobDir, { recursive: true, mode: 0o700 });
    for (const f of m.blobs.files) {
      const to = path.join(config.files.blobDir, f.id);
      copyFileSync(path.join(dir, BLOB_DIR, f.id), to);
      chmodSync(to, 0o600);
    }
  }

  const db = await Database.open(config.db);
  try {
    const applied = await db.migrate();
    if (applied.length > 0) say(`Migrated the restored database: ${applied.join(', ')}`);
    for (const table of COUNTED) {
      // A backup of an older schema did not count the tables it did not have.
      if (m.counts[table] === undefined) continue;
      const row = await db.kysely
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      if (Number(row.n) !== m.counts[table]) throw new Error(`The restored ${table} has ${String(row.n)} rows, the backup ${m.counts[table]}`);
    }
  } finally {
    await db.close();
  }
  const where = config.files.store.kind === 's3' ? ` (found in the bucket ${config.files.store.bucket})` : '';
  say(`Restored ${m.counts.messages} messages, ${m.counts.users} accounts and ${m.blobs.files.length} files${where} from the backup of ${m.createdAt}`);
  return m;
}
