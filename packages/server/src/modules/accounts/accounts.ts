import { randomBytes } from 'node:crypto';
import type { Me, User } from '@parley/protocol';
import { isUniqueViolation, type Tx } from '../../adapters/db/database.ts';
import { AppError } from '../../errors.ts';
import type { Actor, Services } from '../../services.ts';
import { consumeInvite } from '../invites/invites.ts';
import { announceRevoked, terminateAllSessions } from '../sessions/sessions.ts';
import { Outbox } from '../sync/log.ts';
import { newId } from '../sessions/tokens.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { toMe, toUser } from './views.ts';

export interface RegisterInput {
  inviteCode: string;
  username: string;
  password: string;
  displayName: string;
}

/** Hooks other modules add to account creation and deletion, run inside the same transaction. */
export interface AccountHooks {
  created(tx: Tx, userId: string, now: number): Promise<void>;
  /** May return a function to run once the transaction has committed (e.g. to announce what changed). */
  deleting(tx: Tx, userId: string, now: number): Promise<void | (() => void)>;
}

const USERNAME = /^[a-z0-9_]{3,32}$/;

export function normalizeUsername(username: string): string {
  const name = username.trim().toLowerCase();
  if (!USERNAME.test(name)) throw new AppError('invalid_request', `Username "${username}" must be 3 to 32 of a-z, 0-9 and _`);
  return name;
}

function normalizeDisplayName(name: string): string {
  const clean = name.normalize('NFC').trim();
  const length = [...clean].length;
  if (length < 1 || length > 64) throw new AppError('invalid_request', 'Display name must be 1 to 64 characters');
  return clean;
}

export async function register(s: Services, hooks: AccountHooks, input: RegisterInput): Promise<Me> {
  const username = normalizeUsername(input.username);
  const displayName = normalizeDisplayName(input.displayName);
  const passwordHash = await hashPassword(input.password);
  const now = s.now();
  const id = newId();
  return await s.db.transaction(async (tx) => {
    const { admin } = await consumeInvite(tx, input.inviteCode, now);
    const row = { id, username, display_name: displayName, password_hash: passwordHash, is_admin: admin ? 1 : 0, created_at: now, disabled_at: null, deleted_at: null, event_seq: 0 };
    try {
      await tx.insertInto('users').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('username_taken', `Username "${username}" is taken`);
      throw err;
    }
    await hooks.created(tx, id, now);
    return toMe(row);
  });
}

async function loadUser(s: Services, userId: string) {
  const row = await s.db.kysely.selectFrom('users').selectAll().where('id', '=', userId).where('deleted_at', 'is', null).executeTakeFirst();
  if (!row) throw new AppError('unauthorized', 'The account no longer exists');
  return row;
}

export async function getMe(s: Services, actor: Actor): Promise<Me> {
  return toMe(await loadUser(s, actor.userId));
}

export async function updateMe(s: Services, actor: Actor, input: { displayName?: string }): Promise<Me> {
  if (input.displayName !== undefined) {
    await s.db.kysely.updateTable('users').set({ display_name: normalizeDisplayName(input.displayName) }).where('id', '=', actor.userId).execute();
  }
  return getMe(s, actor);
}

export async function changePassword(s: Services, actor: Actor, input: { currentPassword: string; newPassword: string }): Promise<void> {
  const user = await loadUser(s, actor.userId);
  if (!user.password_hash || !(await verifyPassword(user.password_hash, input.currentPassword))) {
    throw new AppError('invalid_credentials', 'The current password is wrong');
  }
  const hash = await hashPassword(input.newPassword);
  const out = new Outbox();
  const revoked = await s.db.transaction(async (tx) => {
    await tx.updateTable('users').set({ password_hash: hash }).where('id', '=', actor.userId).execute();
    return terminateAllSessions(s, actor.userId, { keep: actor.sessionId, record: true, tx, out });
  });
  out.publish(s);
  announceRevoked(s, revoked);
}

/** Deletes the account: sessions, invites and personal data go; messages to others stay, from "Deleted account". */
export async function deleteAccount(s: Services, hooks: AccountHooks, actor: Actor, password: string): Promise<void> {
  const user = await loadUser(s, actor.userId);
  if (!user.password_hash || !(await verifyPassword(user.password_hash, password))) {
    throw new AppError('invalid_credentials', 'The password is wrong');
  }
  const now = s.now();
  const { revoked, afterCommit } = await s.db.transaction(async (tx) => {
    const afterCommit = await hooks.deleting(tx, actor.userId, now);
    const ids = await terminateAllSessions(s, actor.userId, { tx });
    await tx.deleteFrom('invites').where('created_by', '=', actor.userId).execute();
    await tx
      .updateTable('users')
      .set({ username: null, display_name: '', password_hash: null, is_admin: 0, deleted_at: now })
      .where('id', '=', actor.userId)
      .execute();
    return { revoked: ids, afterCommit };
  });
  announceRevoked(s, revoked);
  afterCommit?.();
}

export async function getUserByUsername(s: Services, username: string): Promise<User> {
  const row = await s.db.kysely
    .selectFrom('users')
    .select(['id', 'username', 'display_name', 'deleted_at'])
    .where('username', '=', username.trim().toLowerCase())
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw new AppError('not_found', `User "${username}" was not found`);
  return toUser(row);
}

export async function getUser(s: Services, userId: string): Promise<User> {
  const row = await s.db.kysely.selectFrom('users').select(['id', 'username', 'display_name', 'deleted_at']).where('id', '=', userId).executeTakeFirst();
  if (!row) throw new AppError('not_found', `User "${userId}" was not found`);
  return toUser(row);
}

// Operator commands (CLI).

export async function listUsers(s: Services) {
  return s.db.kysely.selectFrom('users').selectAll().where('deleted_at', 'is', null).orderBy('created_at').execute();
}

async function findByName(s: Services, username: string) {
  const row = await s.db.kysely.selectFrom('users').select(['id']).where('username', '=', username.trim().toLowerCase()).executeTakeFirst();
  if (!row) throw new AppError('not_found', `User "${username}" was not found`);
  return row;
}

export async function disableUser(s: Services, username: string): Promise<void> {
  const { id } = await findByName(s, username);
  const revoked = await s.db.transaction(async (tx) => {
    await tx.updateTable('users').set({ disabled_at: s.now() }).where('id', '=', id).execute();
    return terminateAllSessions(s, id, { tx });
  });
  announceRevoked(s, revoked);
}

/** Sets a new random password, ends every session and returns the password to hand over. */
export async function resetPassword(s: Services, username: string): Promise<string> {
  const { id } = await findByName(s, username);
  const password = randomBytes(12).toString('base64url');
  const hash = await hashPassword(password);
  const revoked = await s.db.transaction(async (tx) => {
    await tx.updateTable('users').set({ password_hash: hash }).where('id', '=', id).execute();
    return terminateAllSessions(s, id, { tx });
  });
  announceRevoked(s, revoked);
  return password;
}
