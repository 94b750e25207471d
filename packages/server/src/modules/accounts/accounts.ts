import type { Me, User } from '@parley/protocol';
import { isUniqueViolation } from '../../adapters/db/database.ts';
import type { AddPolicy, UsersTable } from '../../adapters/db/schema.ts';
import type { DeviceInfo } from '../../lib/credentials.ts';
import { AppError } from '../../lib/errors.ts';
import { newId } from '../../lib/ids.ts';
import { hashPassword, newPassword, verifyPassword } from '../../lib/passwords.ts';
import { failedWith, limitFailures } from '../../lib/rate-limit.ts';
import { withinReadLimits } from '../limits/limits.ts';
import { isUsername, normalizeDisplayName, normalizeUsername } from '../../lib/text.ts';
import { changeAvatar, dropAvatar } from './avatars.ts';
import { consumeInvite, recordInviteUse, usableInvite } from '../invites/invites.ts';
import type { Actor, Services } from '../services.ts';
import { removeIdentity } from '../devices/devices.store.ts';
import { endSessions } from '../sessions/end-sessions.ts';
import { contactsOf } from '../presence/presence.store.ts';
import { commit, type Work } from '../sync/unit-of-work.ts';
import * as store from './accounts.store.ts';
import type { AccountHooks } from './hooks.ts';
import { toMe, toUser } from './views.ts';

/** What account creation and deletion need: the services, and what other modules do then. */
export type AccountServices = Services & { hooks: AccountHooks };

export interface RegisterInput {
  inviteCode: string;
  username: string;
  password: string;
  displayName: string;
}

export async function register(s: AccountServices, input: RegisterInput, device: DeviceInfo): Promise<Me> {
  const username = normalizeUsername(input.username);
  const displayName = normalizeDisplayName(input.displayName);
  // The code is checked before the password is hashed: a made-up code costs a lookup, not an argon2
  // run, and the codes one address gets wrong are limited. The use is taken in the transaction below.
  await limitFailures(
    {
      limiter: s.limiters.failedRegistrations,
      key: device.ip,
      what: 'refused registrations from this address',
      counts: failedWith('invite_invalid', 'invite_revoked', 'invite_expired', 'invite_used_up'),
    },
    () => usableInvite(s.db.kysely, { code: input.inviteCode, now: s.now() }),
  );
  const passwordHash = await hashPassword(input.password);
  const id = newId();
  return commit(s, async (work) => {
    const { admin, inviteId } = await consumeInvite(work.tx, { code: input.inviteCode, now: work.now });
    const row: UsersTable = {
      id,
      username,
      display_name: displayName,
      password_hash: passwordHash,
      is_admin: admin ? 1 : 0,
      created_at: work.now,
      disabled_at: null,
      deleted_at: null,
      event_seq: 0,
      add_policy: 'everyone',
      avatar_file_id: null,
    };
    try {
      await store.insertUser(work.tx, row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('username_taken', `Username "${username}" is taken`);
      throw err;
    }
    await recordInviteUse(work.tx, { inviteId, userId: id, now: work.now });
    await s.hooks.created(work, id);
    return toMe(row);
  });
}

async function loadUser(s: Services, userId: string): Promise<UsersTable> {
  const row = await store.findActiveUser(s.db.kysely, userId);
  if (!row) throw new AppError('unauthorized', 'The account no longer exists');
  return row;
}

/** Loads the actor's account and checks its password, for the commands that ask for it again. */
async function confirmPassword(s: Services, actor: Actor, options: { password: string; wrong: string }): Promise<void> {
  // As limited as signing in: a stolen access token must not become a way to guess the password.
  await limitFailures(
    { limiter: s.limiters.passwordChecks, key: actor.userId, what: 'wrong passwords', counts: failedWith('invalid_credentials') },
    async () => {
      const user = await loadUser(s, actor.userId);
      if (!user.password_hash || !(await verifyPassword(user.password_hash, options.password))) throw new AppError('invalid_credentials', options.wrong);
    },
  );
}

export async function getMe(s: Services, actor: Actor): Promise<Me> {
  return toMe(await loadUser(s, actor.userId));
}

export async function updateMe(s: Services, actor: Actor, input: { displayName?: string; addPolicy?: AddPolicy; avatarFileId?: string | null }): Promise<Me> {
  const displayName = input.displayName !== undefined ? normalizeDisplayName(input.displayName) : undefined;
  await commit(s, async (work) => {
    if (displayName !== undefined) await store.setDisplayName(work.tx, actor.userId, displayName);
    if (input.addPolicy !== undefined) await store.setAddPolicy(work.tx, actor.userId, input.addPolicy);
    if (input.avatarFileId !== undefined)
      await changeAvatar(work.tx, { table: 'users', id: actor.userId, ownerId: actor.userId, fileId: input.avatarFileId, now: work.now });
  });
  if (displayName !== undefined || input.avatarFileId !== undefined) await announceProfile(s, actor.userId);
  return getMe(s, actor);
}

/**
 * Tells the people who see my name (those I share a private chat or a group with) and my other
 * devices that it or my picture changed, so open clients show it without a reload. Like presence,
 * it is not in the log: a client that missed it reads names again when it fetches users.
 */
async function announceProfile(s: Services, userId: string): Promise<void> {
  const row = await store.findUserById(s.db.kysely, userId);
  if (!row) return;
  const contacts = await contactsOf(s.db.kysely, { userId });
  s.bus.publish('deliver', { userIds: [userId, ...contacts], profile: toUser(row) });
}

export async function changePassword(s: Services, actor: Actor, input: { currentPassword: string; newPassword: string }): Promise<void> {
  await confirmPassword(s, actor, { password: input.currentPassword, wrong: 'The current password is wrong' });
  const hash = await hashPassword(input.newPassword);
  await commit(s, async (work) => {
    await store.setPasswordHash(work.tx, actor.userId, hash);
    await endSessions(work, actor.userId, { keep: actor.sessionId, record: true });
  });
}

/** Deletes the account: sessions, invites and personal data go; messages to others stay, from "Deleted account". */
export async function deleteAccount(s: AccountServices, actor: Actor, input: { password: string }): Promise<void> {
  await confirmPassword(s, actor, { password: input.password, wrong: 'The password is wrong' });
  await commit(s, async (work) => {
    await removeAccount(s, work, actor.userId);
  });
}

/**
 * The deletion itself, in the caller's change: what the owner's deleteAccount and an admin's deletion share.
 * Says how many E2EE identities and device lists went with it.
 */
export async function removeAccount(s: AccountServices, work: Work, userId: string): Promise<{ identities: number; deviceLists: number }> {
  await s.hooks.deleting(work, userId);
  await endSessions(work, userId);
  await dropAvatar(work.tx, { table: 'users', id: userId, now: work.now });
  await store.anonymise(work.tx, userId, work.now);
  return removeIdentity(work.tx, userId);
}

export async function getUserByUsername(s: Services, username: string): Promise<User> {
  const name = username.trim().toLowerCase();
  const row = isUsername(name) ? await store.findUserByUsername(s.db.kysely, name) : undefined;
  if (!row) throw new AppError('not_found', `User "${username}" was not found`);
  return toUser(row);
}

/** People to write to: any live account but mine whose username or a display-name word starts so. */
export async function searchUsers(s: Services, actor: Actor, input: { q: string; limit?: number }): Promise<{ users: User[] }> {
  // Control characters are in no name (and PostgreSQL refuses NUL in any text).
  const prefix = input.q
    .replace(/\p{Cc}/gu, '')
    .trim()
    .replace(/^@/, '')
    .normalize('NFC');
  if (prefix.length === 0) throw new AppError('invalid_request', 'Give the start of a username or a name');
  return withinReadLimits(s, actor, async () => {
    const rows = await store.searchUsers(s.db.kysely, { prefix, exceptId: actor.userId, limit: input.limit ?? 10 });
    return { users: rows.map(toUser) };
  });
}

export async function getUser(s: Services, userId: string): Promise<User> {
  const row = await store.findUserById(s.db.kysely, userId);
  if (!row) throw new AppError('not_found', `User "${userId}" was not found`);
  return toUser(row);
}

// Operator commands (CLI).

export async function listUsers(s: Services): Promise<UsersTable[]> {
  return store.activeUsers(s.db.kysely);
}

/** The id of the account with this username (an operator command names accounts so), or 404. */
export async function idOf(s: Services, username: string): Promise<string> {
  const name = username.trim().toLowerCase();
  const id = isUsername(name) ? await store.findIdByUsername(s.db.kysely, name) : undefined;
  if (!id) throw new AppError('not_found', `User "${username}" was not found`);
  return id;
}

/** Stops an account from signing in; its sessions end at once, on every node. */
export async function disableUser(s: Services, userId: string): Promise<void> {
  await commit(s, async (work) => {
    await store.setDisabled(work.tx, userId, work.now);
    await endSessions(work, userId);
  });
}

/** Lets a disabled account sign in again (its sessions ended when it was disabled). */
export async function enableUser(s: Services, userId: string): Promise<void> {
  await commit(s, (work) => store.setEnabled(work.tx, userId));
}

/** Sets a new random password, ends every session and returns the password to hand over. */
export async function resetPassword(s: Services, userId: string): Promise<string> {
  const password = newPassword();
  const hash = await hashPassword(password);
  await commit(s, async (work) => {
    await store.setPasswordHash(work.tx, userId, hash);
    await endSessions(work, userId);
  });
  return password;
}
