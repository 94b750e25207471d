import fs from 'node:fs';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type SelectQueryBuilder, type SqliteDatabase, type Transaction } from 'kysely';
import type BetterSqlite3 from 'better-sqlite3';
import type { Config } from '../../config/config.ts';
import { StoreUnavailableError } from './store-errors.ts';
import { migrationProvider } from './migrations.ts';
import { isPostgres } from './dialect.ts';
import type { DB } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';
/** A transaction under way: what writers and row lockers take. Readers take `Kysely<DB>`. */
export type Tx = Transaction<DB>;

// PostgreSQL errors worth retrying the whole transaction for: serialization failure, deadlock.
const RETRYABLE = new Set(['40001', '40P01']);

function isRetryable(err: unknown): boolean {
  return RETRYABLE.has((err as { code?: string }).code ?? '');
}

/** The most units one group commit writes; more wait for the next group. */
const GROUP_MAX = 256;

interface Unit {
  fn: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * The SQLite file holds password hashes and every message: it is made owner-only (0600) before SQLite
 * opens it, whatever the umask, and SQLite gives its -wal and -shm files the database file's mode. A
 * data directory that others may enter is reported, since files put there by other tools are not covered.
 */
function createPrivateFile(dir: string, file: string, warn?: (message: string) => void): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
  const mode = fs.statSync(dir).mode & 0o777;
  if ((mode & 0o077) !== 0) warn?.(`The data directory ${dir} is open to other users (mode ${mode.toString(8)}); chmod 700 it`);
}

/**
 * Node 24.19 to 24.21 abort the process when V8 collects a statement of better-sqlite3 12 (their
 * node::ObjectWrap removes a cleanup hook with no environment left); 24.22 fixed it.
 */
export function sqliteUnsafeNode(version: string): boolean {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  return major === 24 && minor !== undefined && minor >= 19 && minor <= 21;
}

/** The SQL store: one Kysely instance over SQLite or PostgreSQL, chosen by config. */
export class Database {
  readonly kysely: Kysely<DB>;
  readonly dialect: Dialect;
  /** Told how many units each group commit wrote (for metrics). */
  onGroupCommit: (units: number) => void = () => {};
  private readonly waiting: Unit[] = [];
  private writing = false;

  private constructor(kysely: Kysely<DB>, dialect: Dialect) {
    this.kysely = kysely;
    this.dialect = dialect;
  }

  static async open(config: Config['db'], options: { warn?: (message: string) => void } = {}): Promise<Database> {
    if (config.kind === 'sqlite') {
      const { default: SQLite } = await import('better-sqlite3');
      createPrivateFile(config.dataDir, config.file, options.warn);
      if (sqliteUnsafeNode(process.version)) options.warn?.(`Node ${process.version} can abort while using SQLite: upgrade to Node 24.22 or later`);
      const sqlite = new SQLite(config.file);
      sqlite.pragma('journal_mode = WAL');
      // NORMAL in WAL mode survives a crash of the process; FULL also survives power loss.
      sqlite.pragma(`synchronous = ${config.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      sqlite.pragma('foreign_keys = ON');
      sqlite.pragma('busy_timeout = 5000');
      return new Database(new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) }), 'sqlite');
    }
    const pg = await import('pg');
    pg.default.types.setTypeParser(20, Number);
    // A statement that runs too long is cancelled by the server (statement_timeout), and one whose
    // answer never comes (a silent network) is given up by the client (query_timeout): both become a 503.
    const pool = new pg.default.Pool({
      connectionString: config.url,
      max: 10,
      connectionTimeoutMillis: 5000,
      statement_timeout: config.statementTimeoutMs,
      query_timeout: config.statementTimeoutMs + 5000,
      keepAlive: true,
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => {});
    // Nor may a client in use: pg emits 'error' on it outside any query, and the pool only listens
    // while the client is idle. The query in flight fails by itself; the pool drops the client on release.
    pool.on('connect', (client) => client.on('error', () => {}));
    return new Database(new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }), 'postgres');
  }

  async migrate(): Promise<string[]> {
    const migrator = new Migrator({ db: this.kysely, provider: migrationProvider });
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error;
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }

  /** Runs fn in one transaction, retrying on PostgreSQL deadlocks and serialization failures. */
  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.kysely.transaction().execute(fn);
      } catch (err) {
        if (attempt < 5 && isRetryable(err)) continue;
        throw toStoreError(err);
      }
    }
  }

  /**
   * Group commit (SQLite): runs fn in the next shared transaction, in a savepoint of its own, and
   * settles only after that transaction commits. Units that arrive while one group is being written wait
   * for the next, so a busy node commits many sends at once and an idle one commits each at once.
   * A unit that fails rolls back its savepoint alone; a group that fails to commit fails them all.
   */
  grouped<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    // PostgreSQL already flushes concurrent commits together, and runs them on several connections
    // at once; one transaction per change keeps each change's row locks to itself there.
    if (this.dialect === 'postgres') return this.transaction(fn);
    return new Promise<T>((resolve, reject) => {
      // Each unit settles with its own fn's value: T for this one.
      this.waiting.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (this.writing) return;
      this.writing = true;
      // Sends that arrived in the same turn of the event loop join the first group too.
      setImmediate(() => void this.writeGroups());
    });
  }

  private async writeGroups(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const group = this.waiting.splice(0, GROUP_MAX);
        let outcomes: { ok: boolean; value: unknown }[] = [];
        try {
          await this.transaction(async (tx) => {
            outcomes = [];
            for (const unit of group) {
              await sql`savepoint unit`.execute(tx);
              try {
                outcomes.push({ ok: true, value: await unit.fn(tx) });
              } catch (err) {
                await sql`rollback to savepoint unit`.execute(tx);
                outcomes.push({ ok: false, value: toStoreError(err) });
              }
              await sql`release savepoint unit`.execute(tx);
            }
          });
        } catch (err) {
          for (const unit of group) unit.reject(err);
          continue;
        }
        group.forEach((unit, i) => (outcomes[i]!.ok ? unit.resolve(outcomes[i]!.value) : unit.reject(outcomes[i]!.value)));
        this.onGroupCommit(group.length);
      }
    } finally {
      // Whatever happened, the next unit starts a new writer instead of waiting for this one.
      this.writing = false;
    }
  }

  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.kysely);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.kysely.destroy();
  }
}

// 57014: a statement cancelled by statement_timeout, for the store being too slow to answer.
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', '57P01', '57P03', '08006', '08001', '08003', '57014']);

/** Connection failures become a StoreUnavailableError (the transports answer 503); everything else stays as it is. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const e = err as { code?: string; message?: string } | null;
  if (
    e &&
    ((e.code && CONNECTION_CODES.has(e.code)) || /Connection terminated|timeout exceeded when trying to connect|Query read timeout/i.test(e.message ?? ''))
  ) {
    return new StoreUnavailableError(err);
  }
  return err;
}

export { isPostgres };

/** Adds FOR UPDATE on PostgreSQL; SQLite serialises writers already. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any select of any table may be locked
export function forUpdate<QB extends SelectQueryBuilder<any, any, any>>(tx: Tx, qb: QB): QB {
  return isPostgres(tx) ? (qb.forUpdate() as QB) : qb;
}

/** True when err is a unique-constraint violation in either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** Distinct SQL texts kept prepared; `in (?, ?, …)` lists give a few shapes per query, so this is plenty. */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * better-sqlite3 compiles a statement on every `prepare`, and Kysely prepares on every query: keep one
 * prepared statement per SQL text instead. A statement still being iterated (a streamed query) is
 * busy, so that caller gets a fresh one.
 */
function withStatementCache(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      const cached = cache.get(text);
      if (cached && !cached.busy) return cached;
      const statement = sqlite.prepare(text);
      if (!cached) {
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.clear();
        cache.set(text, statement);
      }
      return statement;
    },
  };
}
