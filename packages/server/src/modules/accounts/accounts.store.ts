import { sql, type Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { AddPolicy, DB, UsersTable } from '../../adapters/db/schema.ts';

export async function insertUser(tx: Tx, row: UsersTable): Promise<void> {
  await tx.insertInto('users').values(row).execute();
}

export async function findActiveUser(db: Kysely<DB>, userId: string): Promise<UsersTable | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', userId).where('deleted_at', 'is', null).executeTakeFirst();
}

export async function findUserByUsername(db: Kysely<DB>, username: string) {
  return db
    .selectFrom('users')
    .select(['id', 'username', 'display_name', 'deleted_at', 'avatar_file_id'])
    .where('username', '=', username)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export async function findUserById(db: Kysely<DB>, userId: string) {
  return db.selectFrom('users').select(['id', 'username', 'display_name', 'deleted_at', 'avatar_file_id']).where('id', '=', userId).executeTakeFirst();
}

/** The id behind a username, deleted accounts aside (their usernames are gone). */
export async function findIdByUsername(db: Kysely<DB>, username: string): Promise<string | undefined> {
  return (await db.selectFrom('users').select(['id']).where('username', '=', username).executeTakeFirst())?.id;
}

export async function setDisplayName(db: Kysely<DB>, userId: string, displayName: string): Promise<void> {
  await db.updateTable('users').set({ display_name: displayName }).where('id', '=', userId).execute();
}

export async function setAddPolicy(db: Kysely<DB>, userId: string, addPolicy: AddPolicy): Promise<void> {
  await db.updateTable('users').set({ add_policy: addPolicy }).where('id', '=', userId).execute();
}

export async function setPasswordHash(tx: Tx, userId: string, passwordHash: string): Promise<void> {
  await tx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
}

export async function setDisabled(tx: Tx, userId: string, at: number): Promise<void> {
  await tx.updateTable('users').set({ disabled_at: at }).where('id', '=', userId).execute();
}

export async function setEnabled(tx: Tx, userId: string): Promise<void> {
  await tx.updateTable('users').set({ disabled_at: null }).where('id', '=', userId).execute();
}

/** Keeps the row (messages to others still name it) without anything personal. */
export async function anonymise(tx: Tx, userId: string, at: number): Promise<void> {
  await tx.deleteFrom('invites').where('created_by', '=', userId).execute();
  await tx.updateTable('users').set({ username: null, display_name: '', password_hash: null, is_admin: 0, deleted_at: at }).where('id', '=', userId).execute();
}

export async function activeUsers(db: Kysely<DB>): Promise<UsersTable[]> {
  return db.selectFrom('users').selectAll().where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
}

/** Live accounts, oldest first, each with its number of sessions. */
export async function accountsWithSessions(db: Kysely<DB>): Promise<(UsersTable & { sessions: number })[]> {
  const rows = await db
    .selectFrom('users')
    .selectAll('users')
    .select((eb) =>
      eb
        .selectFrom('sessions')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('sessions.user_id', '=', 'users.id')
        .as('sessions'),
    )
    .where('deleted_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ ...r, sessions: Number(r.sessions ?? 0) }));
}

/** A LIKE pattern matching `text` literally at the start (its % and _ escaped with \). */
function startsWith(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Live accounts other than `exceptId` whose username starts with `prefix`, or one of whose
 * display-name words does: the exact username first, then by username.
 */
export async function searchUsers(db: Kysely<DB>, options: { prefix: string; exceptId: string; limit: number }) {
  const p = options.prefix.toLowerCase();
  return db
    .selectFrom('users')
    .select(['id', 'username', 'display_name', 'deleted_at', 'avatar_file_id'])
    .where('id', '!=', options.exceptId)
    .where('deleted_at', 'is', null)
    .where('disabled_at', 'is', null)
    .where((eb) =>
      eb.or([
        sql<boolean>`username like ${startsWith(p)} escape '\\'`,
        sql<boolean>`lower(display_name) like ${startsWith(p)} escape '\\'`,
        sql<boolean>`lower(display_name) like ${`% ${startsWith(p)}`} escape '\\'`,
      ]),
    )
    .orderBy(sql`case when username = ${p} then 0 else 1 end`)
    .orderBy('username')
    .limit(options.limit)
    .execute();
}
