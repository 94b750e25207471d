import type { Kysely } from 'kysely';
import { forUpdate, type Tx } from '../../adapters/db/database.ts';
import type { DB, SessionsTable } from '../../adapters/db/schema.ts';

/** The token and device fields a sign-in or a refresh writes. */
export type SessionTokenFields = Pick<
  SessionsTable,
  'access_hash' | 'access_expires_at' | 'refresh_hash' | 'refresh_expires_at' | 'prev_refresh_hash' | 'last_seen_at' | 'ip' | 'user_agent'
>;

export async function findLoginUser(db: Kysely<DB>, username: string) {
  return db
    .selectFrom('users')
    .select(['id', 'password_hash', 'disabled_at'])
    .where('username', '=', username)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** Serialises sign-ins of one user (PostgreSQL), so the session limit holds under concurrency. */
export async function lockUser(tx: Tx, userId: string): Promise<void> {
  await forUpdate(tx, tx.selectFrom('users').select('id').where('id', '=', userId)).execute();
}

export async function userIsActive(tx: Tx, userId: string): Promise<boolean> {
  const user = await tx.selectFrom('users').select(['disabled_at']).where('id', '=', userId).executeTakeFirst();
  return user !== undefined && user.disabled_at === null;
}

/** Updates a session of this user in place; false when the user has no such session. */
export async function reuseSession(
  tx: Tx,
  options: { sessionId: string; userId: string; fields: SessionTokenFields & { device_name: string } },
): Promise<boolean> {
  const row = await tx
    .updateTable('sessions')
    .set(options.fields)
    .where('id', '=', options.sessionId)
    .where('user_id', '=', options.userId)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertSession(tx: Tx, row: SessionsTable): Promise<void> {
  await tx.insertInto('sessions').values(row).execute();
}

export async function updateSessionTokens(tx: Tx, sessionId: string, fields: SessionTokenFields): Promise<void> {
  await tx.updateTable('sessions').set(fields).where('id', '=', sessionId).execute();
}

/** A user's session ids, newest first. */
export async function sessionIdsNewestFirst(tx: Tx, userId: string): Promise<string[]> {
  const rows = await tx.selectFrom('sessions').select('id').where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  return rows.map((r) => r.id);
}

export async function deleteSessions(db: Kysely<DB>, sessionIds: string[]): Promise<void> {
  if (sessionIds.length > 0) await db.deleteFrom('sessions').where('id', 'in', sessionIds).execute();
}

/** Deletes a session of this user; false when the user has no such session. */
export async function deleteOwnSession(tx: Tx, options: { sessionId: string; userId: string }): Promise<boolean> {
  const rows = await tx.deleteFrom('sessions').where('id', '=', options.sessionId).where('user_id', '=', options.userId).returning('id').execute();
  return rows.length > 0;
}

/** Deletes every session of a user except `keep`; returns the ids deleted. */
export async function deleteUserSessions(tx: Tx, options: { userId: string; keep?: string }): Promise<string[]> {
  let q = tx.deleteFrom('sessions').where('user_id', '=', options.userId);
  if (options.keep) q = q.where('id', '!=', options.keep);
  return (await q.returning('id').execute()).map((r) => r.id);
}

/** The session a refresh token belongs to, row-locked (PostgreSQL). */
export async function lockSessionByRefreshHash(tx: Tx, refreshHash: string) {
  return forUpdate(tx, tx.selectFrom('sessions').select(['id', 'user_id', 'refresh_expires_at']).where('refresh_hash', '=', refreshHash)).executeTakeFirst();
}

/** Deletes the sessions whose previous refresh token this is (it was presented again: stolen). */
export async function deleteByPrevRefreshHash(tx: Tx, refreshHash: string): Promise<{ id: string; user_id: string }[]> {
  return tx.deleteFrom('sessions').where('prev_refresh_hash', '=', refreshHash).returning(['id', 'user_id']).execute();
}

/** The current access-token hash of each of these sessions that still exists and whose user is active. */
export async function liveAccessHashes(db: Kysely<DB>, sessionIds: string[]): Promise<{ id: string; access_hash: string }[]> {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id', 'sessions.access_hash'])
    .where('sessions.id', 'in', sessionIds)
    .where('users.disabled_at', 'is', null)
    .where('users.deleted_at', 'is', null)
    .execute();
}

export async function findByAccessHash(db: Kysely<DB>, accessHash: string) {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id', 'sessions.user_id', 'sessions.access_expires_at', 'sessions.last_seen_at', 'users.is_admin', 'users.disabled_at'])
    .where('sessions.access_hash', '=', accessHash)
    .executeTakeFirst();
}

export async function touchSession(db: Kysely<DB>, options: { sessionId: string; now: number; ip: string; userAgent: string }): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ last_seen_at: options.now, ip: options.ip, user_agent: options.userAgent })
    .where('id', '=', options.sessionId)
    .execute();
}

export async function findSession(db: Kysely<DB>, sessionId: string): Promise<SessionsTable | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst();
}

export async function userSessions(db: Kysely<DB>, userId: string): Promise<SessionsTable[]> {
  return db.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('last_seen_at', 'desc').execute();
}

/** Of these sessions, those that still hold: the user is active and the refresh token unexpired; with their access tokens' expiry. */
export async function liveSessionExpiries(db: Kysely<DB>, sessionIds: string[], now: number): Promise<{ id: string; access_expires_at: number }[]> {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id', 'sessions.access_expires_at'])
    .where('sessions.id', 'in', sessionIds)
    .where('sessions.refresh_expires_at', '>', now)
    .where('users.disabled_at', 'is', null)
    .where('users.deleted_at', 'is', null)
    .execute();
}
