import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { DB, DeviceLinksTable } from '../../adapters/db/schema.ts';

/** Leaves a message, replacing the sender's unread one to the same recipient. */
export async function putDeviceLink(tx: Tx, row: DeviceLinksTable): Promise<void> {
  await tx
    .insertInto('device_links')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['recipient_device_id', 'sender_device_id']).doUpdateSet({ data: row.data, created_at: row.created_at, expires_at: row.expires_at }),
    )
    .execute();
}

/**
 * Takes the unexpired messages for a device (from one sender when given), deleting them in the same statement: of
 * two readers at once, one gets each message.
 */
export async function takeDeviceLinks(
  db: Kysely<DB>,
  options: { recipientDeviceId: string; senderDeviceId?: string; now: number },
): Promise<DeviceLinksTable[]> {
  let q = db.deleteFrom('device_links').where('recipient_device_id', '=', options.recipientDeviceId).where('expires_at', '>', options.now);
  if (options.senderDeviceId !== undefined) q = q.where('sender_device_id', '=', options.senderDeviceId);
  const rows = await q.returningAll().execute();
  return rows.sort((a, b) => Number(a.created_at) - Number(b.created_at));
}

/** Deletes the messages nobody read in time; returns how many. */
export async function deleteExpiredDeviceLinks(db: Kysely<DB>, now: number): Promise<number> {
  const result = await db.deleteFrom('device_links').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
