import type { Kysely } from 'kysely';
import type { DB } from '../../adapters/db/schema.ts';

/** Users who see my presence: those who share a private chat or a group with me (not channel audiences). */
export async function contactsOf(db: Kysely<DB>, options: { userId: string; among?: string[] }): Promise<string[]> {
  let q = db
    .selectFrom('members as mine')
    .innerJoin('chats', 'chats.id', 'mine.chat_id')
    .innerJoin('members as theirs', 'theirs.chat_id', 'mine.chat_id')
    .select('theirs.user_id')
    .distinct()
    .where('mine.user_id', '=', options.userId)
    .where('chats.kind', 'in', ['private', 'group'])
    .where('theirs.user_id', '!=', options.userId);
  if (options.among) q = q.where('theirs.user_id', 'in', options.among);
  return (await q.execute()).map((r) => r.user_id);
}

export async function setLastSeen(db: Kysely<DB>, options: { userId: string; at: number }): Promise<void> {
  await db.updateTable('users').set({ last_seen_at: options.at }).where('id', '=', options.userId).execute();
}

export async function lastSeenOf(db: Kysely<DB>, userIds: string[]): Promise<{ id: string; lastSeenAt: number | null }[]> {
  const rows = await db.selectFrom('users').select(['id', 'last_seen_at']).where('id', 'in', userIds).execute();
  return rows.map((r) => ({ id: r.id, lastSeenAt: r.last_seen_at == null ? null : Number(r.last_seen_at) }));
}
