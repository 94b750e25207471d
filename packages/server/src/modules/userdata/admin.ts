import type { AdminAccount, Invite, ServerStatus, Session } from '@parley/protocol';
import type { UsersTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { iso, isoOrNull } from '../../lib/time.ts';
import { PARLEY_VERSION } from '../../version.ts';
import { getLimits } from '../limits/limits.ts';
import { listInvites } from '../invites/invites.ts';
import { accountsWithSessions, findActiveUser } from '../accounts/accounts.store.ts';
import { disableUser, enableUser, removeAccount, resetPassword, type AccountServices } from '../accounts/accounts.ts';
import { endSessions } from '../sessions/end-sessions.ts';
import { userSessions } from '../sessions/sessions.store.ts';
import { toSession } from '../sessions/views.ts';
import { releaseRefs } from '../files/files.store.ts';
import type { Actor, Services } from '../services.ts';
import { commit } from '../sync/unit-of-work.ts';
import { buildExport, takeExportPoint, type DataExport } from './export.ts';
import { expireUnreferencedFiles, ownMessagesWithFiles, serverCounts } from './userdata.store.ts';

/** The actor must be an admin now: read from the account on every request, not from the session's cache. */
async function requireAdmin(s: Services, actor: Actor): Promise<void> {
  const row = await findActiveUser(s.db.kysely, actor.userId);
  if (!row || row.is_admin !== 1) throw new AppError('forbidden', 'Only an admin can manage other accounts');
}

/** A live account, or the 404 a deleted or unknown one gets. */
async function requireUser(s: Services, userId: string): Promise<void> {
  if (!(await findActiveUser(s.db.kysely, userId))) throw new AppError('not_found', `User "${userId}" was not found`);
}

/** An admin downloads another account's data: the zip its owner would get, counted against the admin's exports. */
export async function exportUserData(s: Services, actor: Actor, userId: string): Promise<DataExport> {
  await requireAdmin(s, actor);
  await requireUser(s, userId);
  await takeExportPoint(s, actor);
  // Who read whose data stays in the log.
  s.log.info({ adminId: actor.userId, userId }, 'admin exported an account');
  return buildExport(s, userId);
}

export interface DeletedUserData {
  /** The account's messages whose files were released */
  messagesWithFiles: number;
  /** The account's files the collector removes at its next run */
  filesReleased: number;
  /** Its E2EE identity (public key and recovery blob) removed: 1, or 0 when it had none */
  identities: number;
  /** Its signed device lists removed */
  deviceLists: number;
}

/**
 * Deletes an account as its owner's deleteAccount does (sessions end, chats are left or passed on,
 * the profile is emptied; messages to others stay, from "Deleted account"), and in the same change
 * releases its files: the references its messages hold go, and its files that nothing references
 * then are collected at the cleanup job's next run instead of after the grace uploads get. The
 * messages keep naming their attachments, which no longer download. Its E2EE identity (public key
 * and recovery blob) and device lists go too; its devices are ended and their KeyPackages deleted
 * with its sessions.
 */
export async function deleteUserDataOf(s: AccountServices, userId: string): Promise<DeletedUserData> {
  await requireUser(s, userId);
  return commit(s, async (work) => {
    // Before the account's saved messages (and their chat) go with removeAccount.
    const messageIds = await ownMessagesWithFiles(work.tx, userId);
    await releaseRefs(work.tx, { messageIds, now: work.now });
    const removed = await removeAccount(s, work, userId);
    const filesReleased = await expireUnreferencedFiles(work.tx, userId);
    return { messagesWithFiles: messageIds.length, filesReleased, ...removed };
  });
}

/** An admin deletes another account (their own goes through deleteAccount, with their password). */
export async function deleteUserData(s: AccountServices, actor: Actor, userId: string): Promise<void> {
  await requireAdmin(s, actor);
  if (userId === actor.userId) throw new AppError('invalid_request', 'Delete your own account from your profile (deleteAccount)');
  const done = await deleteUserDataOf(s, userId);
  s.log.info({ adminId: actor.userId, userId, ...done }, 'admin deleted an account');
}

// Accounts and their sessions, for the admin pages: what the CLI's user commands do, over the API.

/** A live account other than the admin's own: the admin manages theirs through their own operations. */
async function requireOtherUser(s: Services, actor: Actor, userId: string, ownInstead: string): Promise<void> {
  await requireUser(s, userId);
  if (userId === actor.userId) throw new AppError('invalid_request', `For your own account, use ${ownInstead}`);
}

function toAdminAccount(row: UsersTable & { sessions: number }): AdminAccount {
  return {
    id: row.id,
    username: row.username ?? '',
    displayName: row.display_name,
    isAdmin: row.is_admin === 1,
    createdAt: iso(row.created_at),
    lastSeenAt: isoOrNull(row.last_seen_at),
    disabledAt: isoOrNull(row.disabled_at),
    sessions: row.sessions,
  };
}

export async function listAccounts(s: Services, actor: Actor): Promise<{ users: AdminAccount[] }> {
  await requireAdmin(s, actor);
  return { users: (await accountsWithSessions(s.db.kysely)).map(toAdminAccount) };
}

export async function disableAccount(s: Services, actor: Actor, userId: string): Promise<void> {
  await requireAdmin(s, actor);
  await requireOtherUser(s, actor, userId, 'deleteAccount');
  await disableUser(s, userId);
  s.log.info({ adminId: actor.userId, userId }, 'admin disabled an account');
}

export async function enableAccount(s: Services, actor: Actor, userId: string): Promise<void> {
  await requireAdmin(s, actor);
  await requireUser(s, userId);
  await enableUser(s, userId);
  s.log.info({ adminId: actor.userId, userId }, 'admin enabled an account');
}

export async function resetAccountPassword(s: Services, actor: Actor, userId: string): Promise<{ password: string }> {
  await requireAdmin(s, actor);
  await requireOtherUser(s, actor, userId, 'changePassword');
  const password = await resetPassword(s, userId);
  s.log.info({ adminId: actor.userId, userId }, 'admin reset the password of an account');
  return { password };
}

export async function listAccountSessions(s: Services, actor: Actor, userId: string): Promise<{ sessions: Session[] }> {
  await requireAdmin(s, actor);
  await requireUser(s, userId);
  // None of them is the admin's current one, even on their own account's page.
  return { sessions: (await userSessions(s.db.kysely, userId)).map((row) => toSession(row, userId === actor.userId ? actor.sessionId : '')) };
}

export async function endAccountSessions(s: Services, actor: Actor, userId: string): Promise<{ ended: number }> {
  await requireAdmin(s, actor);
  await requireOtherUser(s, actor, userId, 'terminateOtherSessions');
  const ended = await commit(s, (work) => endSessions(work, userId, { record: true }));
  s.log.info({ adminId: actor.userId, userId, ended: ended.length }, 'admin ended the sessions of an account');
  return { ended: ended.length };
}

// The server itself.

export async function getServerStatus(s: Services & { nodeId: string }, actor: Actor): Promise<ServerStatus> {
  await requireAdmin(s, actor);
  const [storeUp, busUp, counts] = await Promise.all([s.db.ping(), s.bus.ping(), serverCounts(s.db.kysely)]);
  return {
    version: PARLEY_VERSION,
    node: s.nodeId,
    store: s.db.dialect,
    storeUp,
    bus: s.config.redisUrl ? 'redis' : 'in-process',
    busUp,
    blobStore: s.config.files.store.kind,
    limits: getLimits(s),
    counts,
  };
}

export async function listAllInvites(s: Services, actor: Actor): Promise<{ invites: Invite[] }> {
  await requireAdmin(s, actor);
  return { invites: await listInvites(s, null) };
}
