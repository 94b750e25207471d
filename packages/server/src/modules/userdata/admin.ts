import { AppError } from '../../lib/errors.ts';
import { findActiveUser } from '../accounts/accounts.store.ts';
import { removeAccount, type AccountServices } from '../accounts/accounts.ts';
import { releaseRefs } from '../files/files.store.ts';
import type { Actor, Services } from '../services.ts';
import { commit } from '../sync/unit-of-work.ts';
import { buildExport, takeExportPoint, type DataExport } from './export.ts';
import { expireUnreferencedFiles, ownMessagesWithFiles } from './userdata.store.ts';

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
}

/**
 * Deletes an account as its owner's deleteAccount does (sessions end, chats are left or passed on,
 * the profile is emptied; messages to others stay, from "Deleted account"), and in the same change
 * releases its files: the references its messages hold go, and its files that nothing references
 * then are collected at the cleanup job's next run instead of after the grace uploads get. The
 * messages keep naming their attachments, which no longer download.
 */
export async function deleteUserDataOf(s: AccountServices, userId: string): Promise<DeletedUserData> {
  await requireUser(s, userId);
  return commit(s, async (work) => {
    // Before the account's saved messages (and their chat) go with removeAccount.
    const messageIds = await ownMessagesWithFiles(work.tx, userId);
    await releaseRefs(work.tx, { messageIds, now: work.now });
    await removeAccount(s, work, userId);
    const filesReleased = await expireUnreferencedFiles(work.tx, userId);
    return { messagesWithFiles: messageIds.length, filesReleased };
  });
}

/** An admin deletes another account (their own goes through deleteAccount, with their password). */
export async function deleteUserData(s: AccountServices, actor: Actor, userId: string): Promise<void> {
  await requireAdmin(s, actor);
  if (userId === actor.userId) throw new AppError('invalid_request', 'Delete your own account from your profile (deleteAccount)');
  const done = await deleteUserDataOf(s, userId);
  s.log.info({ adminId: actor.userId, userId, ...done }, 'admin deleted an account');
}
