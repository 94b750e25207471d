// The stores a run measures Parley on: SQLite always, PostgreSQL (+ Redis) when DATABASE_URL
// (and REDIS_URL) are set, in a database of the bench's own that is dropped at the end.

export interface StoreMode {
  name: string;
  databaseUrl?: string;
  redisUrl?: string;
}

export interface PostgresMode extends StoreMode {
  databaseUrl: string;
  dropDatabase: () => Promise<void>;
}

export const SQLITE: StoreMode = Object.freeze({ name: 'sqlite' });

/** Creates parley_bench_<pid> on the server DATABASE_URL names, or returns null without one. */
export async function postgresMode(env: NodeJS.ProcessEnv): Promise<PostgresMode | null> {
  const base = env.DATABASE_URL;
  if (!base) return null;
  const { default: pg } = await import('pg');
  const name = `parley_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    name: env.REDIS_URL ? 'postgres+redis' : 'postgres',
    databaseUrl: u.toString(),
    redisUrl: env.REDIS_URL,
    dropDatabase: async () => {
      const c = new pg.Client({ connectionString: base });
      c.on('error', () => {});
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
