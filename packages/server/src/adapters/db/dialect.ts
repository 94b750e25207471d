import { PostgresAdapter } from 'kysely';

/** What knows its dialect: a Kysely instance or transaction over any schema (migrations see `unknown`). */
interface HasExecutor {
  getExecutor(): { readonly adapter: unknown };
}

/** True when db runs on PostgreSQL (a transaction, and a migration, know their dialect through the adapter). */
export function isPostgres(db: HasExecutor): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
