import type { Kysely } from 'kysely';
import type { DB } from '../../adapters/db/schema.ts';

/** The ids of the chat's members with these usernames, in the order the names are given. */
export async function membersNamed(db: Kysely<DB>, options: { chatId: string; usernames: string[] }): Promise<string[]> {
  if (options.usernames.length === 0) return [];
  const rows = await db
    .selectFrom('members')
    .innerJoin('users', 'users.id', 'members.user_id')
    .select(['users.id', 'users.username'])
    .where('members.chat_id', '=', options.chatId)
    .where('users.username', 'in', options.usernames)
    .execute();
  const byName = new Map(rows.map((r) => [r.username, r.id]));
  return options.usernames.flatMap((name) => (byName.has(name) ? [byName.get(name)!] : []));
}
