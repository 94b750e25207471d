import { sql, type Kysely } from 'kysely';
import type { Dialect } from './database.ts';

/**
 * A schema as the database itself describes it: every table with its columns, and every index and
 * constraint, sorted so that two databases with the same schema give equal snapshots whatever order
 * they were built in. Kysely's own bookkeeping tables are left out (their rows differ, their shape
 * is Kysely's).
 */
export interface SchemaSnapshot {
  tables: Record<string, { columns: string[]; indexes: string[]; constraints: string[] }>;
}

const BOOKKEEPING = new Set(['kysely_migration', 'kysely_migration_lock']);

function sorted(snapshot: SchemaSnapshot): SchemaSnapshot {
  const tables: SchemaSnapshot['tables'] = {};
  for (const name of Object.keys(snapshot.tables).sort()) {
    const t = snapshot.tables[name]!;
    tables[name] = { columns: t.columns, indexes: [...t.indexes].sort(), constraints: [...t.constraints].sort() };
  }
  return { tables };
}

/** The schema of db, read from sqlite_master and PRAGMAs (SQLite) or the catalogs (PostgreSQL). */
export async function schemaSnapshot(db: Kysely<unknown>, dialect: Dialect): Promise<SchemaSnapshot> {
  return sorted(dialect === 'sqlite' ? await sqliteSnapshot(db) : await postgresSnapshot(db));
}

async function sqliteSnapshot(db: Kysely<unknown>): Promise<SchemaSnapshot> {
  const tables: SchemaSnapshot['tables'] = {};
  const objects = await sql<{ type: string; name: string; tbl_name: string; sql: string | null }>`
    select type, name, tbl_name, sql from sqlite_master where name not like 'sqlite_%' order by name`.execute(db);
  for (const o of objects.rows.filter((r) => r.type === 'table' && !BOOKKEEPING.has(r.name))) {
    const columns = await sql<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>`
      select name, type, "notnull", dflt_value, pk from pragma_table_info(${o.name}) order by cid`.execute(db);
    const indexes = await sql<{ name: string; unique: number; origin: string }>`select name, "unique", origin from pragma_index_list(${o.name})`.execute(db);
    const indexLines: string[] = [];
    for (const ix of indexes.rows) {
      const cols = await sql<{ name: string }>`select name from pragma_index_info(${ix.name}) order by seqno`.execute(db);
      // Automatic indexes (primary keys, unique constraints) get generated names: describe them by origin.
      const label = ix.origin === 'c' ? ix.name : `(${ix.origin})`;
      indexLines.push(`${label} ${ix.unique ? 'unique ' : ''}(${cols.rows.map((c) => c.name).join(', ')})`);
    }
    const foreignKeys = await sql<{ id: number; table: string; from: string; to: string; on_delete: string }>`
      select id, "table", "from", "to", on_delete from pragma_foreign_key_list(${o.name}) order by id, seq`.execute(db);
    const checks = checksOf(o.sql ?? '');
    tables[o.name] = {
      columns: columns.rows.map(
        (c) => `${c.name} ${c.type}${c.notnull ? ' not null' : ''}${c.dflt_value !== null ? ` default ${c.dflt_value}` : ''}${c.pk ? ` pk${c.pk}` : ''}`,
      ),
      indexes: indexLines,
      constraints: [...foreignKeys.rows.map((f) => `foreign key (${f.from}) references ${f.table}(${f.to}) on delete ${f.on_delete.toLowerCase()}`), ...checks],
    };
  }
  return { tables };
}

/** The CHECK clauses in a CREATE TABLE statement, each with its balanced parentheses. */
function checksOf(createTable: string): string[] {
  const out: string[] = [];
  for (const m of createTable.matchAll(/\bcheck\s*\(/gi)) {
    let depth = 0;
    for (let i = m.index + m[0].length - 1; i < createTable.length; i++) {
      if (createTable[i] === '(') depth++;
      else if (createTable[i] === ')' && --depth === 0) {
        out.push(`check ${createTable.slice(m.index + m[0].length - 1, i + 1)}`);
        break;
      }
    }
  }
  return out;
}

/**
 * PostgreSQL prints a CHECK back in whichever of several equivalent cast forms it parsed (a pg_dump
 * reloaded gives another form than the migration did): compared without casts and parentheses.
 */
function plainCheck(def: string): string {
  return def
    .replace(/::[a-z_]+( [a-z_]+)*(\[\])?/g, '')
    .replace(/[()]/g, '')
    .replace(/\s+/g, ' ');
}

async function postgresSnapshot(db: Kysely<unknown>): Promise<SchemaSnapshot> {
  const tables: SchemaSnapshot['tables'] = {};
  const columns = await sql<{
    table_name: string;
    column_name: string;
    data_type: string;
    length: number | null;
    is_nullable: string;
    column_default: string | null;
  }>`
    select table_name, column_name, data_type, character_maximum_length as length, is_nullable, column_default
    from information_schema.columns where table_schema = 'public' order by table_name, ordinal_position`.execute(db);
  for (const c of columns.rows) {
    if (BOOKKEEPING.has(c.table_name)) continue;
    const t = (tables[c.table_name] ??= { columns: [], indexes: [], constraints: [] });
    t.columns.push(
      `${c.column_name} ${c.data_type}${c.length !== null ? `(${c.length})` : ''}${c.is_nullable === 'NO' ? ' not null' : ''}${c.column_default !== null ? ` default ${c.column_default}` : ''}`,
    );
  }
  const indexes = await sql<{ tablename: string; indexdef: string }>`
    select tablename, indexdef from pg_indexes where schemaname = 'public'`.execute(db);
  for (const ix of indexes.rows) tables[ix.tablename]?.indexes.push(ix.indexdef.replace(/ ON public\./, ' ON '));
  const constraints = await sql<{ table_name: string; conname: string; def: string }>`
    select cl.relname as table_name, co.conname, pg_get_constraintdef(co.oid) as def
    from pg_constraint co join pg_class cl on cl.oid = co.conrelid join pg_namespace n on n.oid = cl.relnamespace
    where n.nspname = 'public'`.execute(db);
  for (const c of constraints.rows) tables[c.table_name]?.constraints.push(`${c.conname}: ${c.def.startsWith('CHECK') ? plainCheck(c.def) : c.def}`);
  return { tables };
}
