import type { ExpressionBuilder, Kysely } from 'kysely';
import { forUpdate, type Tx } from '../../adapters/db/database.ts';
import type { DB } from '../../adapters/db/schema.ts';
import { dropAvatar } from '../accounts/avatars.ts';
import { releaseRefs } from '../files/files.store.ts';

/** A chat deleted for everyone, or one nobody is in any more. */
const nobodyLeft = (eb: ExpressionBuilder<DB, 'chats'>) =>
  eb.or([eb('deleted_at', 'is not', null), eb.not(eb.exists(eb.selectFrom('members').select('members.user_id').whereRef('members.chat_id', '=', 'chats.id')))]);

/** Deletes up to `limit` sessions whose refresh token expired by `now`; returns their ids and whether that was all. */
export async function deleteExpiredSessions(db: Kysely<DB>, options: { now: number; limit: number }): Promise<{ ids: string[]; found: number }> {
  const expired = await db.selectFrom('sessions').select('id').where('refresh_expires_at', '<=', options.now).limit(options.limit).execute();
  if (expired.length === 0) return { ids: [], found: 0 };
  const deleted = await db
    .deleteFrom('sessions')
    .where(
      'id',
      'in',
      expired.map((r) => r.id),
    )
    .where('refresh_expires_at', '<=', options.now)
    .returning('id')
    .execute();
  return { ids: deleted.map((r) => r.id), found: expired.length };
}

/** Deletes invites that expired or were revoked before `before`; returns how many. */
export async function deleteOldInvites(db: Kysely<DB>, before: number): Promise<number> {
  const result = await db
    .deleteFrom('invites')
    .where((eb) => eb.or([eb('expires_at', '<=', before), eb('revoked_at', '<=', before)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function abandonedChatIds(db: Kysely<DB>, limit: number): Promise<string[]> {
  return (await db.selectFrom('chats').select('id').where(nobodyLeft).limit(limit).execute()).map((r) => r.id);
}

/** Removes a chat with its members, messages and log, if (checked again, under its row lock) nobody is in it. */
export async function removeAbandonedChat(tx: Tx, chatId: string, now: number): Promise<boolean> {
  const still = await forUpdate(tx, tx.selectFrom('chats').select('id').where('id', '=', chatId).where(nobodyLeft)).executeTakeFirst();
  if (!still) return false;
  // Its messages' files lose their references with them (and are collected after the grace).
  await releaseRefs(tx, { chatId, now });
  await dropAvatar(tx, { table: 'chats', id: chatId, now });
  await tx.deleteFrom('chat_events').where('chat_id', '=', chatId).execute();
  await tx.deleteFrom('messages').where('chat_id', '=', chatId).execute();
  await tx.deleteFrom('members').where('chat_id', '=', chatId).execute();
  await tx.deleteFrom('chats').where('id', '=', chatId).execute();
  return true;
}

/** Deletes the personal logs of deleted accounts; returns how many entries went. */
export async function deleteLogsOfDeletedUsers(db: Kysely<DB>): Promise<number> {
  const result = await db
    .deleteFrom('user_events')
    .where('user_id', 'in', (eb) => eb.selectFrom('users').select('id').where('deleted_at', 'is not', null))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
