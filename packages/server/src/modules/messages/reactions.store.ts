import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { DB } from '../../adapters/db/schema.ts';
import { REACTION_NAMES, type Reaction } from '@parley/protocol';

/** Adds a reaction; false when this person had put this emoji there already. */
export async function insertReaction(tx: Tx, r: { messageId: string; chatId: string; userId: string; emoji: string; at: number }): Promise<boolean> {
  const result = await tx
    .insertInto('reactions')
    .values({ message_id: r.messageId, chat_id: r.chatId, user_id: r.userId, emoji: r.emoji, created_at: r.at })
    .onConflict((oc) => oc.columns(['message_id', 'user_id', 'emoji']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Removes a reaction; false when there was none. */
export async function deleteReaction(tx: Tx, r: { messageId: string; userId: string; emoji: string }): Promise<boolean> {
  const result = await tx
    .deleteFrom('reactions')
    .where('message_id', '=', r.messageId)
    .where('user_id', '=', r.userId)
    .where('emoji', '=', r.emoji)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The different emoji one person has on a message. */
export async function reactionsOf(db: Kysely<DB>, r: { messageId: string; userId: string }): Promise<string[]> {
  return (await db.selectFrom('reactions').select('emoji').where('message_id', '=', r.messageId).where('user_id', '=', r.userId).execute()).map((x) => x.emoji);
}

/** The emoji on a message, in the order they first came, each with its count and its first REACTION_NAMES people. */
export async function reactionSummary(db: Kysely<DB>, messageId: string): Promise<Reaction[]> {
  const counts = await db
    .selectFrom('reactions')
    .select(['emoji', (e) => e.fn.countAll<number>().as('n'), (e) => e.fn.min('created_at').as('first')])
    .where('message_id', '=', messageId)
    .groupBy('emoji')
    .execute();
  counts.sort((a, b) => Number(a.first) - Number(b.first) || (a.emoji < b.emoji ? -1 : 1));
  const summary: Reaction[] = [];
  for (const c of counts) {
    const people = await db
      .selectFrom('reactions')
      .select('user_id')
      .where('message_id', '=', messageId)
      .where('emoji', '=', c.emoji)
      .orderBy('created_at')
      .orderBy('user_id')
      .limit(REACTION_NAMES)
      .execute();
    summary.push({ emoji: c.emoji, count: Number(c.n), userIds: people.map((p) => p.user_id) });
  }
  return summary;
}

/** Keeps the message's summary column (what history, sync and events show) in step with its rows. */
export async function setReactionSummary(tx: Tx, messageId: string, summary: Reaction[]): Promise<string | null> {
  const json = summary.length > 0 ? JSON.stringify(summary) : null;
  await tx.updateTable('messages').set({ reactions: json }).where('id', '=', messageId).execute();
  return json;
}
