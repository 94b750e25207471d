import fs from 'node:fs';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type LogEvent, type Migration, type MigrationProvider } from 'kysely';
import type { Config } from '../../config/config.ts';
import { migrations } from './migrations.ts';

/** A migration that `migrate` would apply, with the statements it runs, in order. */
export interface PlannedMigration {
  name: string;
  statements: string[];
}

export type MigrationPlan =
  /** No database yet (SQLite): nothing was opened or created. */
  { kind: 'no-database'; file: string; pending: string[] } | { kind: 'planned'; pending: PlannedMigration[] };

function statementOf(event: LogEvent): string {
  const { sql: text, parameters } = event.query;
  return parameters.length > 0 ? `${text} -- parameters: ${JSON.stringify(parameters)}` : text;
}

/**
 * What `parley migrate` would do, found by doing it inside one transaction that is then rolled back:
 * each pending migration runs against the real schema (so what it would find is what it finds), and
 * the SQL it sends is captured through Kysely's log hook. Both dialects roll DDL back with the rest.
 * A SQLite database that does not exist is reported, not created.
 */
export async function planMigrations(config: Config['db']): Promise<MigrationPlan> {
  if (config.kind === 'sqlite' && !fs.existsSync(config.file)) return { kind: 'no-database', file: config.file, pending: Object.keys(migrations).sort() };

  let running: PlannedMigration | null = null;
  const planned: PlannedMigration[] = [];
  const log = (event: LogEvent) => {
    if (running && event.level === 'query') running.statements.push(statementOf(event));
  };
  // Each migration is wrapped so the statements sent while its `up` runs are put down to it, and
  // the migrator's own bookkeeping (its tables, its lock, the row recording a migration) is not.
  const traced: Record<string, Migration> = {};
  for (const [name, migration] of Object.entries(migrations)) {
    traced[name] = {
      async up(db) {
        running = { name, statements: [] };
        planned.push(running);
        try {
          await migration.up(db);
        } finally {
          running = null;
        }
      },
    };
  }
  const provider: MigrationProvider = { getMigrations: async () => traced };

  const db = await openForPlan(config, log);
  try {
    // One connection (SQLite has one; the PostgreSQL pool is capped at one), so the migrator's
    // statements run inside this transaction; its own transaction is turned off.
    await sql`begin`.execute(db);
    try {
      const { error } = await new Migrator({ db, provider, disableTransactions: true }).migrateToLatest();
      if (error) throw error;
    } finally {
      await sql`rollback`.execute(db);
    }
  } finally {
    await db.destroy();
  }
  return { kind: 'planned', pending: planned };
}

async function openForPlan(config: Config['db'], log: (event: LogEvent) => void): Promise<Kysely<unknown>> {
  if (config.kind === 'sqlite') {
    const { default: SQLite } = await import('better-sqlite3');
    const sqlite = new SQLite(config.file, { fileMustExist: true });
    sqlite.pragma('busy_timeout = 5000');
    return new Kysely({ dialect: new SqliteDialect({ database: sqlite }), log });
  }
  const pg = await import('pg');
  const pool = new pg.default.Pool({ connectionString: config.url, max: 1, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {});
  return new Kysely({ dialect: new PostgresDialect({ pool }), log });
}

/** The plan as `parley migrate --dry-run` prints it, one line each. */
export function describePlan(plan: MigrationPlan): string[] {
  if (plan.kind === 'no-database') {
    return [`There is no database at ${plan.file}; nothing was created`, `parley migrate would create it and apply: ${plan.pending.join(', ')}`];
  }
  if (plan.pending.length === 0) return ['The database is up to date'];
  const out = [`Pending: ${plan.pending.map((m) => m.name).join(', ')}`];
  for (const m of plan.pending) {
    out.push('', `${m.name}:`);
    for (const s of m.statements) out.push(`  ${s};`);
  }
  out.push('', 'Dry run: nothing was changed');
  return out;
}
