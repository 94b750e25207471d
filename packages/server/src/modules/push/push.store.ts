import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { ChatsTable, DB, PushKeysTable, PushSubscriptionsTable } from '../../adapters/db/schema.ts';

// Subscriptions

/** Adds a session's subscription, or gives an endpoint it already has the new keys. */
export async function upsertSubscription(tx: Tx, row: PushSubscriptionsTable): Promise<void> {
  await tx
    .insertInto('push_subscriptions')
    .values(row)
    .onConflict((oc) => oc.columns(['session_id', 'endpoint']).doUpdateSet({ p256dh: row.p256dh, auth: row.auth, created_at: row.created_at }))
    .execute();
}

/** Keeps a session's subscription to `endpoint` and its newest others, `keep` in all, and deletes the rest. */
export async function trimSubscriptions(tx: Tx, options: { sessionId: string; endpoint: string; keep: number }): Promise<void> {
  const rows = await tx
    .selectFrom('push_subscriptions')
    .select('id')
    .where('session_id', '=', options.sessionId)
    .where('endpoint', '!=', options.endpoint)
    // Ids are time-ordered (UUIDv7): several made in one millisecond still sort in the order they came.
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  const excess = rows.slice(options.keep - 1).map((r) => r.id);
  if (excess.length > 0) await tx.deleteFrom('push_subscriptions').where('id', 'in', excess).execute();
}

export async function deleteSubscription(db: Kysely<DB>, options: { sessionId: string; endpoint: string }): Promise<void> {
  await db.deleteFrom('push_subscriptions').where('session_id', '=', options.sessionId).where('endpoint', '=', options.endpoint).execute();
}

/** A subscription the push service no longer knows (404, 410). */
export async function deleteSubscriptionById(db: Kysely<DB>, id: string): Promise<void> {
  await db.deleteFrom('push_subscriptions').where('id', '=', id).execute();
}

export async function subscriptionsOf(db: Kysely<DB>, userIds: string[]): Promise<PushSubscriptionsTable[]> {
  if (userIds.length === 0) return [];
  return db.selectFrom('push_subscriptions').selectAll().where('user_id', 'in', userIds).execute();
}

// What a notification says

/** The chat's kind, title and encryption, and the sender's name. */
export async function pushContext(
  db: Kysely<DB>,
  options: { chatId: string; senderId: string },
): Promise<{ chat: Pick<ChatsTable, 'kind' | 'title' | 'e2ee'>; senderName: string } | undefined> {
  const chat = await db.selectFrom('chats').select(['kind', 'title', 'e2ee']).where('id', '=', options.chatId).executeTakeFirst();
  const sender = await db.selectFrom('users').select('display_name').where('id', '=', options.senderId).executeTakeFirst();
  return chat && { chat, senderName: sender?.display_name ?? 'Someone' };
}

/** The chat's members who have not muted it, but for `except`. */
export async function unmutedMembers(db: Kysely<DB>, options: { chatId: string; except: string }): Promise<string[]> {
  const rows = await db
    .selectFrom('members')
    .select('user_id')
    .where('chat_id', '=', options.chatId)
    .where('muted', '=', 0)
    .where('user_id', '!=', options.except)
    .execute();
  return rows.map((r) => r.user_id);
}

// VAPID keys

export async function findKeys(db: Kysely<DB>): Promise<PushKeysTable | undefined> {
  return db.selectFrom('push_keys').selectAll().where('id', '=', 'vapid').executeTakeFirst();
}

/** Stores a key pair unless one is there already (another node may have been first). */
export async function insertKeysIfNone(db: Kysely<DB>, row: PushKeysTable): Promise<void> {
  await db
    .insertInto('push_keys')
    .values(row)
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}
