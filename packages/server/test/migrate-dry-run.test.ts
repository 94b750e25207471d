import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { migrations } from '../src/adapters/db/migrations.ts';
import { freshStore, stores, type StoreKind, type TestStore } from './_harness.ts';
import { lines, runParley } from './_cli.ts';
import { loadFixture, openStore, snapshotOf } from './_schema-fixtures.ts';

const LATEST = Object.keys(migrations).sort().at(-1)!;

/** The migrations recorded as applied, and every table (Kysely's own included). */
async function stateOf(store: TestStore, kind: StoreKind): Promise<{ applied: string[]; tables: string[] }> {
  const db = await openStore(store);
  try {
    const tables =
      kind === 'sqlite'
        ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' order by name`.execute(db.kysely)
        : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' order by table_name`.execute(
            db.kysely,
          );
    const names = tables.rows.map((r) => r.name);
    const applied = names.includes('kysely_migration')
      ? (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db.kysely)).rows.map((r) => r.name)
      : [];
    return { applied, tables: names };
  } finally {
    await db.close();
  }
}

describe.each(await stores())('parley migrate --dry-run on %s', (kind) => {
  it('prints the pending migrations and the SQL each would run, and changes nothing', async () => {
    const store = await loadFixture(kind, '004_files');
    try {
      const schemaBefore = await snapshotOf(store, kind);
      const stateBefore = await stateOf(store, kind);
      const dry = await runParley(['migrate', '--dry-run'], { ...store.env });
      expect(dry.stderr).toBe('');
      expect(dry.code).toBe(0);
      const out = lines(dry.stdout);
      // Everything after 004, whatever later migrations come.
      const after004 = Object.keys(migrations).filter((name) => name > '004_files');
      expect(after004.slice(0, 4)).toEqual(['005_file_sha256', '006_avatars', '007_message_search', '008_reactions']);
      expect(out[0]).toBe(`Pending: ${after004.join(', ')}`);
      expect(out).toContain('005_file_sha256:');
      expect(out).toContain('  alter table "files" add column "sha256" varchar(64);');
      expect(out.slice(out.indexOf('006_avatars:') + 1, out.indexOf('007_message_search:'))).toEqual([
        '  alter table "users" add column "avatar_file_id" varchar(64);',
        '  alter table "chats" add column "avatar_file_id" varchar(64);',
      ]);
      expect(out.slice(out.indexOf('007_message_search:') + 1, out.indexOf('008_reactions:')).join('\n')).toContain(
        kind === 'sqlite' ? 'CREATE VIRTUAL TABLE messages_fts USING fts5' : 'CREATE INDEX messages_search ON messages USING gin',
      );
      expect(out.at(-1)).toBe('Dry run: nothing was changed');
      // Neither the migrator's bookkeeping nor the statements themselves touched the store.
      expect(await snapshotOf(store, kind)).toEqual(schemaBefore);
      expect(await stateOf(store, kind)).toEqual(stateBefore);

      const applied = await runParley(['migrate'], { ...store.env });
      expect(applied.stdout).toBe(`Applied: ${after004.join(', ')}\n`);
      const again = await runParley(['migrate', '--dry-run'], { ...store.env });
      expect(again.code).toBe(0);
      expect(again.stdout).toBe('The database is up to date\n');
    } finally {
      await store.drop();
    }
  });

  it('against an empty database, lists every migration and leaves no table behind', async () => {
    const store = await freshStore(kind);
    try {
      const dry = await runParley(['migrate', '--dry-run'], { ...store.env });
      expect(dry.code).toBe(0);
      const out = lines(dry.stdout);
      expect(out.join('\n')).toContain(`${Object.keys(migrations).sort().join(', ')}`);
      if (kind === 'sqlite') {
        // No file is made, not even the empty database opening it would leave.
        expect(out[0]).toBe(`There is no database at ${path.join(store.env.PARLEY_DATA_DIR!, 'parley.sqlite')}; nothing was created`);
        expect(existsSync(path.join(store.env.PARLEY_DATA_DIR!, 'parley.sqlite'))).toBe(false);
      } else {
        expect(out).toContain(
          '  create table "users" ("id" varchar(64) primary key, "username" varchar(32), "display_name" varchar(256) not null, "password_hash" varchar(256), "is_admin" integer default 0 not null, "created_at" bigint not null, "disabled_at" bigint, "deleted_at" bigint, "event_seq" bigint default 0 not null);',
        );
        expect(out).toContain(`${LATEST}:`);
        expect(await stateOf(store, kind)).toEqual({ applied: [], tables: [] });
      }
    } finally {
      await store.drop();
    }
  });

  it('creates no data directory where there is none', async () => {
    const store = await freshStore(kind);
    const missing = path.join(store.env.PARLEY_DATA_DIR!, 'not-yet');
    try {
      const env = { ...store.env, PARLEY_DATA_DIR: missing };
      const dry = await runParley(['migrate', '--dry-run'], env);
      expect(dry.code).toBe(0);
      if (kind === 'sqlite') expect(lines(dry.stdout)[0]).toContain('nothing was created');
      expect(existsSync(missing)).toBe(false);
    } finally {
      await store.drop();
    }
  });
});

describe.runIf((await stores()).includes('postgres'))('parley migrate --dry-run on a PostgreSQL URL', () => {
  it('names a PostgreSQL database that does not exist, and creates none', async () => {
    const store = await freshStore('postgres');
    const url = new URL(store.env.DATABASE_URL!);
    url.pathname = `${url.pathname}_missing`;
    try {
      const dry = await runParley(['migrate', '--dry-run'], { ...store.env, DATABASE_URL: url.toString() });
      expect(dry.code).not.toBe(0);
      expect(dry.stdout).toBe('');
      expect(dry.stderr).toContain(`database "${url.pathname.slice(1)}" does not exist`);
    } finally {
      await store.drop();
    }
  });
});
