import type { Kysely } from 'kysely';
import { forUpdate, isPostgres, type Tx } from '../../adapters/db/database.ts';
import type { DB, DevicesTable, DeviceStatus, IdentitiesTable, KeyPackagesTable } from '../../adapters/db/schema.ts';

// Identities

export async function passwordHash(db: Kysely<DB>, userId: string): Promise<string | null | undefined> {
  return (await db.selectFrom('users').select('password_hash').where('id', '=', userId).where('deleted_at', 'is', null).executeTakeFirst())?.password_hash;
}

export async function findIdentity(db: Kysely<DB>, userId: string): Promise<IdentitiesTable | undefined> {
  return db.selectFrom('identities').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

/** The identity row under a row lock (PostgreSQL): serialises device registrations and approvals of one user. */
export async function lockIdentity(tx: Tx, userId: string): Promise<IdentitiesTable | undefined> {
  return forUpdate(tx, tx.selectFrom('identities').selectAll().where('user_id', '=', userId)).executeTakeFirst();
}

export async function insertIdentity(tx: Tx, row: IdentitiesTable): Promise<void> {
  await tx.insertInto('identities').values(row).execute();
}

export async function replaceIdentity(tx: Tx, options: { userId: string; publicKey: Buffer; recoveryBlob: Buffer | null; now: number }): Promise<void> {
  await tx
    .updateTable('identities')
    .set((eb) => ({ public_key: options.publicKey, recovery_blob: options.recoveryBlob, version: eb('version', '+', 1), updated_at: options.now }))
    .where('user_id', '=', options.userId)
    .execute();
}

/** The ids of the user's devices that have not ended. */
export async function liveDeviceIds(db: Kysely<DB>, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('devices').select('id').where('user_id', '=', userId).where('status', '!=', 'ended').execute();
  return rows.map((r) => r.id);
}

export async function updateRecoveryBlob(tx: Tx, options: { userId: string; recoveryBlob: Buffer; now: number }): Promise<void> {
  await tx.updateTable('identities').set({ recovery_blob: options.recoveryBlob, updated_at: options.now }).where('user_id', '=', options.userId).execute();
}

/** A live account (not deleted): whose keys and devices anyone signed in may look up; with `deleted`, a deleted one too. */
export async function userExists(db: Kysely<DB>, userId: string, options: { deleted?: boolean } = {}): Promise<boolean> {
  let query = db.selectFrom('users').select('id').where('id', '=', userId);
  if (!options.deleted) query = query.where('deleted_at', 'is', null);
  return (await query.executeTakeFirst()) !== undefined;
}

export async function sessionDeviceName(db: Kysely<DB>, sessionId: string): Promise<string | undefined> {
  return (await db.selectFrom('sessions').select('device_name').where('id', '=', sessionId).executeTakeFirst())?.device_name;
}

// Devices

export async function findDevice(db: Kysely<DB>, deviceId: string): Promise<DevicesTable | undefined> {
  return db.selectFrom('devices').selectAll().where('id', '=', deviceId).executeTakeFirst();
}

export async function lockDevice(tx: Tx, deviceId: string): Promise<DevicesTable | undefined> {
  return forUpdate(tx, tx.selectFrom('devices').selectAll().where('id', '=', deviceId)).executeTakeFirst();
}

/** How many devices of the user, other than `except`, are in one of these states. */
export async function countDevices(db: Kysely<DB>, options: { userId: string; statuses: DeviceStatus[]; except?: string }): Promise<number> {
  let q = db
    .selectFrom('devices')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('user_id', '=', options.userId)
    .where('status', 'in', options.statuses);
  if (options.except) q = q.where('id', '!=', options.except);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** Inserts the device, or replaces the one registered under the same id (a device that lost its keys registers again). */
export async function upsertDevice(tx: Tx, row: DevicesTable): Promise<void> {
  const { id: _id, ...fields } = row;
  await tx
    .insertInto('devices')
    .values(row)
    .onConflict((oc) => oc.column('id').doUpdateSet(fields))
    .execute();
}

export async function activateDevice(tx: Tx, options: { deviceId: string; cert: Buffer; now: number }): Promise<void> {
  await tx.updateTable('devices').set({ status: 'active', cert: options.cert, approved_at: options.now }).where('id', '=', options.deviceId).execute();
}

export async function userDevices(db: Kysely<DB>, options: { userId: string; statuses: DeviceStatus[] }): Promise<DevicesTable[]> {
  return db
    .selectFrom('devices')
    .selectAll()
    .where('user_id', '=', options.userId)
    .where('status', 'in', options.statuses)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Marks these devices ended and returns those that were not already; their KeyPackages go with it. */
export async function endDeviceRows(tx: Tx, options: { deviceIds: string[]; now: number }): Promise<{ id: string; user_id: string }[]> {
  if (options.deviceIds.length === 0) return [];
  await tx.deleteFrom('key_packages').where('device_id', 'in', options.deviceIds).execute();
  return tx
    .updateTable('devices')
    .set({ status: 'ended', ended_at: options.now })
    .where('id', 'in', options.deviceIds)
    .where('status', '!=', 'ended')
    .returning(['id', 'user_id'])
    .execute();
}

// Device lists

export async function latestDeviceList(db: Kysely<DB>, userId: string) {
  return db.selectFrom('device_lists').selectAll().where('user_id', '=', userId).orderBy('version', 'desc').limit(1).executeTakeFirst();
}

export async function insertDeviceList(tx: Tx, row: { user_id: string; version: number; data: Buffer; created_at: number }): Promise<void> {
  await tx.insertInto('device_lists').values(row).execute();
}

export async function deviceListsAfter(db: Kysely<DB>, options: { userId: string; after: number; limit: number }) {
  return db
    .selectFrom('device_lists')
    .selectAll()
    .where('user_id', '=', options.userId)
    .where('version', '>', options.after)
    .orderBy('version')
    .limit(options.limit)
    .execute();
}

// KeyPackages

export async function countKeyPackageRows(db: Kysely<DB>, options: { deviceId: string; now: number }): Promise<{ count: number; lastResort: boolean }> {
  const rows = await db
    .selectFrom('key_packages')
    .select(['last_resort', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('device_id', '=', options.deviceId)
    .where('expires_at', '>', options.now)
    .groupBy('last_resort')
    .execute();
  const n = (lastResort: number) => Number(rows.find((r) => Number(r.last_resort) === lastResort)?.n ?? 0);
  return { count: n(0), lastResort: n(1) > 0 };
}

/** Of these refs, those already stored. */
export async function existingRefs(db: Kysely<DB>, refs: Buffer[]): Promise<Buffer[]> {
  if (refs.length === 0) return [];
  return (await db.selectFrom('key_packages').select('ref').where('ref', 'in', refs).execute()).map((r) => r.ref);
}

export async function insertKeyPackages(tx: Tx, rows: KeyPackagesTable[]): Promise<void> {
  if (rows.length > 0) await tx.insertInto('key_packages').values(rows).execute();
}

export async function deleteKeyPackage(tx: Tx, ref: Buffer): Promise<void> {
  await tx.deleteFrom('key_packages').where('ref', '=', ref).execute();
}

export async function deleteLastResort(tx: Tx, deviceId: string): Promise<void> {
  await tx.deleteFrom('key_packages').where('device_id', '=', deviceId).where('last_resort', '=', 1).execute();
}

/**
 * Takes one single-use KeyPackage of the device, oldest first, deleting it in the same statement.
 * On PostgreSQL the row is picked with FOR UPDATE SKIP LOCKED, so concurrent claims never wait for
 * or take the same package; SQLite has a single writer.
 */
export async function takeKeyPackage(tx: Tx, options: { deviceId: string; now: number }): Promise<Buffer | undefined> {
  let pick = tx
    .selectFrom('key_packages')
    .select('ref')
    .where('device_id', '=', options.deviceId)
    .where('last_resort', '=', 0)
    .where('expires_at', '>', options.now)
    .orderBy('created_at')
    .orderBy('ref')
    .limit(1);
  if (isPostgres(tx)) pick = pick.forUpdate().skipLocked();
  const row = await tx.deleteFrom('key_packages').where('ref', '=', pick).returning('data').executeTakeFirst();
  return row?.data;
}

export async function lastResortKeyPackage(db: Kysely<DB>, options: { deviceId: string; now: number }): Promise<Buffer | undefined> {
  const row = await db
    .selectFrom('key_packages')
    .select('data')
    .where('device_id', '=', options.deviceId)
    .where('last_resort', '=', 1)
    .where('expires_at', '>', options.now)
    .executeTakeFirst();
  return row?.data;
}

/** Deletes KeyPackages whose lifetime has ended; returns how many. */
export async function deleteExpiredKeyPackages(db: Kysely<DB>, now: number): Promise<number> {
  const result = await db.deleteFrom('key_packages').where('expires_at', '<=', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}

// Chats, read here rather than through modules/chats, which comes after the sessions that end devices.

/** The chat's kind when `userId` is a member of it and it is not deleted. */
export async function memberChatKind(db: Kysely<DB>, options: { chatId: string; userId: string }): Promise<string | undefined> {
  const row = await db
    .selectFrom('members')
    .innerJoin('chats', 'chats.id', 'members.chat_id')
    .select('chats.kind')
    .where('members.chat_id', '=', options.chatId)
    .where('members.user_id', '=', options.userId)
    .where('chats.deleted_at', 'is', null)
    .executeTakeFirst();
  return row?.kind;
}

/** Of these users, those who are members of the chat. */
export async function chatMembersAmong(db: Kysely<DB>, options: { chatId: string; userIds: string[] }): Promise<string[]> {
  const rows = await db.selectFrom('members').select('user_id').where('chat_id', '=', options.chatId).where('user_id', 'in', options.userIds).execute();
  return rows.map((r) => r.user_id);
}

/** The active devices of these users, but `except`. */
export async function activeDevicesOf(db: Kysely<DB>, options: { userIds: string[]; except: string }): Promise<{ id: string; user_id: string }[]> {
  return db
    .selectFrom('devices')
    .select(['id', 'user_id'])
    .where('user_id', 'in', options.userIds)
    .where('status', '=', 'active')
    .where('id', '!=', options.except)
    .orderBy('user_id')
    .orderBy('created_at')
    .execute();
}

/**
 * Removes the account's end-to-end encryption identity (public key and recovery blob) and its
 * signed device lists: nobody reads them once the account is deleted. The device rows stay, ended,
 * so that other devices can still tell an ended device from one they never heard of.
 */
export async function removeIdentity(tx: Tx, userId: string): Promise<{ identities: number; deviceLists: number }> {
  const identities = await tx.deleteFrom('identities').where('user_id', '=', userId).executeTakeFirst();
  const deviceLists = await tx.deleteFrom('device_lists').where('user_id', '=', userId).executeTakeFirst();
  return { identities: Number(identities.numDeletedRows), deviceLists: Number(deviceLists.numDeletedRows) };
}
