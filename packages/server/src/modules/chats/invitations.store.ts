import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { AddPolicy, DB } from '../../adapters/db/schema.ts';

export async function addPolicies(tx: Tx, userIds: string[]): Promise<Map<string, AddPolicy>> {
  if (userIds.length === 0) return new Map();
  const rows = await tx.selectFrom('users').select(['id', 'add_policy']).where('id', 'in', userIds).execute();
  return new Map(rows.map((r) => [r.id, r.add_policy]));
}

/** Which of these users share a chat other than saved messages with `userId`. */
export async function sharingAChat(tx: Tx, options: { userId: string; userIds: string[] }): Promise<Set<string>> {
  if (options.userIds.length === 0) return new Set();
  const rows = await tx
    .selectFrom('members as mine')
    .innerJoin('members as theirs', 'theirs.chat_id', 'mine.chat_id')
    .innerJoin('chats', 'chats.id', 'mine.chat_id')
    .select('theirs.user_id')
    .distinct()
    .where('mine.user_id', '=', options.userId)
    .where('theirs.user_id', 'in', options.userIds)
    .where('chats.kind', '!=', 'self')
    .where('chats.deleted_at', 'is', null)
    .execute();
  return new Set(rows.map((r) => r.user_id));
}

/** Records invitations; one already waiting for the same chat and user stays as it was. */
export async function insertInvitations(tx: Tx, options: { chatId: string; userIds: string[]; invitedBy: string; at: number }): Promise<void> {
  if (options.userIds.length === 0) return;
  const waiting = new Set(
    (await tx.selectFrom('chat_invitations').select('user_id').where('chat_id', '=', options.chatId).where('user_id', 'in', options.userIds).execute()).map(
      (r) => r.user_id,
    ),
  );
  const fresh = options.userIds.filter((id) => !waiting.has(id));
  if (fresh.length === 0) return;
  await tx
    .insertInto('chat_invitations')
    .values(fresh.map((userId) => ({ chat_id: options.chatId, user_id: userId, invited_by: options.invitedBy, created_at: options.at })))
    .execute();
}

export async function findInvitation(tx: Tx, options: { chatId: string; userId: string }) {
  return tx
    .selectFrom('chat_invitations')
    .innerJoin('chats', 'chats.id', 'chat_invitations.chat_id')
    .select(['chat_invitations.invited_by', 'chats.kind', 'chats.member_count', 'chats.deleted_at'])
    .where('chat_invitations.chat_id', '=', options.chatId)
    .where('chat_invitations.user_id', '=', options.userId)
    .executeTakeFirst();
}

export async function deleteInvitation(db: Kysely<DB>, options: { chatId: string; userId: string }): Promise<boolean> {
  const res = await db.deleteFrom('chat_invitations').where('chat_id', '=', options.chatId).where('user_id', '=', options.userId).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** A user's open invitations to chats that still exist, newest first, with who asked. */
export async function invitationRows(db: Kysely<DB>, userId: string) {
  return db
    .selectFrom('chat_invitations')
    .innerJoin('chats', 'chats.id', 'chat_invitations.chat_id')
    .innerJoin('users', 'users.id', 'chat_invitations.invited_by')
    .select([
      'chat_invitations.chat_id',
      'chat_invitations.created_at',
      'chats.kind',
      'chats.title',
      'users.id as inviter_id',
      'users.username as inviter_username',
      'users.display_name as inviter_display_name',
      'users.deleted_at as inviter_deleted_at',
      'users.avatar_file_id as inviter_avatar_file_id',
    ])
    .where('chat_invitations.user_id', '=', userId)
    .where('chats.deleted_at', 'is', null)
    .orderBy('chat_invitations.created_at', 'desc')
    .execute();
}
