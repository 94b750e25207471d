import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { DB, MlsCommitsTable, MlsGroupDevicesTable, MlsGroupsTable } from '../../adapters/db/schema.ts';

/** The chat's kind and MLS epoch (null: no group yet), if it is not deleted. */
export async function chatMlsState(db: Kysely<DB>, chatId: string): Promise<{ kind: string; epoch: number | null } | undefined> {
  const row = await db.selectFrom('chats').select(['kind', 'mls_epoch']).where('id', '=', chatId).where('deleted_at', 'is', null).executeTakeFirst();
  return row && { kind: row.kind, epoch: row.mls_epoch === null || row.mls_epoch === undefined ? null : Number(row.mls_epoch) };
}

/**
 * The epoch compare-and-swap: advances the chat's epoch from `epoch` and takes its next position in
 * one statement, under the row lock that orders positions (PostgreSQL) or the single writer (SQLite).
 * Undefined when the epoch is no longer `epoch` (another commit won) or the chat is gone.
 */
export async function advanceEpoch(tx: Tx, options: { chatId: string; epoch: number }): Promise<{ seq: number; epoch: number } | undefined> {
  const row = await tx
    .updateTable('chats')
    .set((eb) => ({ mls_epoch: eb('mls_epoch', '+', 1), last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', options.chatId)
    .where('mls_epoch', '=', options.epoch)
    .where('deleted_at', 'is', null)
    .returning(['last_seq', 'mls_epoch'])
    .executeTakeFirst();
  return row && { seq: Number(row.last_seq), epoch: Number(row.mls_epoch) };
}

/** Like advanceEpoch for the first commit: only while the chat has no group; makes it end-to-end encrypted at epoch 1. */
export async function initEpoch(tx: Tx, chatId: string): Promise<{ seq: number; epoch: number } | undefined> {
  const row = await tx
    .updateTable('chats')
    .set((eb) => ({ mls_epoch: 1, e2ee: 1, last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', chatId)
    .where('mls_epoch', 'is', null)
    .where('deleted_at', 'is', null)
    .returning(['last_seq', 'mls_epoch'])
    .executeTakeFirst();
  return row && { seq: Number(row.last_seq), epoch: Number(row.mls_epoch) };
}

export async function findCommit(
  db: Kysely<DB>,
  options: { chatId: string; deviceId: string; clientCommitId: string },
): Promise<{ seq: number; epoch: number } | undefined> {
  const row = await db
    .selectFrom('mls_commits')
    .select(['seq', 'epoch'])
    .where('chat_id', '=', options.chatId)
    .where('device_id', '=', options.deviceId)
    .where('client_commit_id', '=', options.clientCommitId)
    .executeTakeFirst();
  return row && { seq: Number(row.seq), epoch: Number(row.epoch) };
}

export async function insertCommit(tx: Tx, row: MlsCommitsTable): Promise<void> {
  await tx.insertInto('mls_commits').values(row).execute();
}

export async function findGroup(db: Kysely<DB>, chatId: string): Promise<MlsGroupsTable | undefined> {
  const row = await db.selectFrom('mls_groups').selectAll().where('chat_id', '=', chatId).executeTakeFirst();
  return row && { ...row, group_info_epoch: Number(row.group_info_epoch), group_info_seq: Number(row.group_info_seq), created_at: Number(row.created_at) };
}

export async function groupIdTaken(db: Kysely<DB>, groupId: Buffer): Promise<boolean> {
  return (await db.selectFrom('mls_groups').select('chat_id').where('group_id', '=', groupId).executeTakeFirst()) !== undefined;
}

export async function insertGroup(tx: Tx, row: MlsGroupsTable): Promise<void> {
  await tx.insertInto('mls_groups').values(row).execute();
}

export async function setGroupInfo(tx: Tx, options: { chatId: string; groupInfo: Buffer; epoch: number; seq: number }): Promise<void> {
  await tx
    .updateTable('mls_groups')
    .set({ group_info: options.groupInfo, group_info_epoch: options.epoch, group_info_seq: options.seq })
    .where('chat_id', '=', options.chatId)
    .execute();
}

export async function groupDevices(db: Kysely<DB>, chatId: string): Promise<MlsGroupDevicesTable[]> {
  const rows = await db.selectFrom('mls_group_devices').selectAll().where('chat_id', '=', chatId).orderBy('joined_seq').orderBy('device_id').execute();
  return rows.map((r) => ({ ...r, joined_seq: Number(r.joined_seq), joined_epoch: Number(r.joined_epoch) }));
}

export async function removeGroupDevices(tx: Tx, options: { chatId: string; deviceIds: string[] }): Promise<void> {
  if (options.deviceIds.length === 0) return;
  await tx.deleteFrom('mls_group_devices').where('chat_id', '=', options.chatId).where('device_id', 'in', options.deviceIds).execute();
}

export async function insertGroupDevices(tx: Tx, rows: MlsGroupDevicesTable[]): Promise<void> {
  if (rows.length > 0) await tx.insertInto('mls_group_devices').values(rows).execute();
}

/** Of these devices, those that are active and belong to a member of the chat, with their users. */
export async function activeMemberDevices(db: Kysely<DB>, options: { chatId: string; deviceIds: string[] }): Promise<{ id: string; user_id: string }[]> {
  if (options.deviceIds.length === 0) return [];
  return db
    .selectFrom('devices')
    .innerJoin('members', (j) => j.onRef('members.user_id', '=', 'devices.user_id').on('members.chat_id', '=', options.chatId))
    .select(['devices.id', 'devices.user_id'])
    .where('devices.id', 'in', options.deviceIds)
    .where('devices.status', '=', 'active')
    .execute();
}

/** The devices in the chat's group with the state of each (an ended device stays until a commit removes it). */
export async function groupDeviceStates(db: Kysely<DB>, chatId: string): Promise<{ device_id: string; user_id: string; status: string | null }[]> {
  return db
    .selectFrom('mls_group_devices')
    .leftJoin('devices', 'devices.id', 'mls_group_devices.device_id')
    .select(['mls_group_devices.device_id', 'mls_group_devices.user_id', 'devices.status'])
    .where('mls_group_devices.chat_id', '=', chatId)
    .execute();
}
