import { DEVICE_LISTS_PAGE, MAX_DEVICE_CERT_BYTES, MAX_DEVICE_LIST_BYTES, type Device, type DeviceList } from '@parley/protocol';
import type { Kysely } from 'kysely';
import { isUniqueViolation } from '../../adapters/db/database.ts';
import type { DB, DevicesTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { takeWritePoint, withinReadLimits } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { recordUserEvent } from '../sync/event-log.ts';
import { commit } from '../sync/unit-of-work.ts';
import * as store from './devices.store.ts';
import { FramingError, readDeviceCert } from './framing.ts';
import { bytesOf, userNotFound } from './identity.ts';
import { toDevice, toDeviceList } from './views.ts';

/** The actor's own device when it is active (approved, certified), or 409 device_not_active. */
export async function requireActiveDevice(db: Kysely<DB>, actor: Actor): Promise<DevicesTable> {
  return activeDevice(await store.findDevice(db, actor.sessionId), actor);
}

/** The row of the actor's device if it is active, or 409 device_not_active. */
export function activeDevice(device: DevicesTable | undefined, actor: Actor): DevicesTable {
  if (!device || device.user_id !== actor.userId || device.status !== 'active') {
    throw new AppError('device_not_active', 'This session is not an active end-to-end encryption device');
  }
  return device;
}

/** A certificate must name the device it is for; its signature is for clients to verify. */
function checkCert(cert: Buffer, device: { userId: string; deviceId: string }): void {
  let names: { userId: string; deviceId: string };
  try {
    names = readDeviceCert(cert);
  } catch (err) {
    if (err instanceof FramingError) throw new AppError('invalid_request', `The device certificate is malformed: ${err.message}`);
    throw err;
  }
  if (names.userId !== device.userId || names.deviceId !== device.deviceId) {
    throw new AppError('invalid_request', `The device certificate names another device than "${device.deviceId}"`);
  }
}

export interface RegisterDeviceInput {
  signaturePublicKey: string;
  linkCommitment?: string;
  cert?: string;
  name?: string;
}

/**
 * Registers the actor's session as a device (same id). It is active at once when it brings a
 * certificate and the account has an identity key but no other device that is pending or active:
 * the first device, which self-signs its certificate with the identity key it just made (or
 * recovered). Any other device is pending until one of the user's active devices approves it.
 * Registering again under the same id with another key starts the device over (it lost its keys);
 * with the same key it is a retry and changes nothing.
 */
export async function registerDevice(s: Services, actor: Actor, input: RegisterDeviceInput): Promise<Device> {
  await takeWritePoint(s, actor);
  const signatureKey = bytesOf(input.signaturePublicKey, { max: 32, what: 'The signature key' });
  const cert = input.cert === undefined ? null : bytesOf(input.cert, { max: MAX_DEVICE_CERT_BYTES, what: 'The certificate' });
  if (cert) checkCert(cert, { userId: actor.userId, deviceId: actor.sessionId });
  return commit(s, async (work) => {
    const { tx, now } = work;
    // The identity row lock orders registrations and approvals of one user: one first device.
    if (!(await store.lockIdentity(tx, actor.userId))) throw new AppError('identity_required', 'Set an identity key before registering a device');
    const existing = await store.lockDevice(tx, actor.sessionId);
    if (existing && existing.user_id === actor.userId && existing.status !== 'ended' && existing.signature_key.equals(signatureKey)) {
      return toDevice(existing, { own: true });
    }
    const first = (await store.countDevices(tx, { userId: actor.userId, statuses: ['pending', 'active'], except: actor.sessionId })) === 0;
    const active = first && cert !== null;
    const row: DevicesTable = {
      id: actor.sessionId,
      user_id: actor.userId,
      name: input.name ?? (await store.sessionDeviceName(tx, actor.sessionId)) ?? 'device',
      status: active ? 'active' : 'pending',
      signature_key: signatureKey,
      link_commitment: input.linkCommitment === undefined ? null : bytesOf(input.linkCommitment, { max: 32, what: 'The link commitment' }),
      cert: active ? cert : null,
      created_at: now,
      approved_at: active ? now : null,
      ended_at: null,
    };
    try {
      // A device starting over keeps nothing of its old keys.
      if (existing) await store.endDeviceRows(tx, { deviceIds: [actor.sessionId], now });
      await store.upsertDevice(tx, row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('device_key_taken', 'This signature key belongs to another device');
      throw err;
    }
    await recordUserEvent(work, actor.userId, { type: active ? 'device.approved' : 'device.registered', deviceId: row.id });
    return toDevice(row, { own: true });
  });
}

/**
 * Approves a pending device of the actor's with its certificate. Another active device approves
 * (after the users compared codes); the device itself may only when the user has no active device
 * at all, which is the recovery-key path where nobody else could.
 */
export async function approveDevice(s: Services, actor: Actor, input: { deviceId: string; cert: string }): Promise<Device> {
  await takeWritePoint(s, actor);
  const cert = bytesOf(input.cert, { max: MAX_DEVICE_CERT_BYTES, what: 'The certificate' });
  return commit(s, async (work) => {
    const { tx, now } = work;
    await store.lockIdentity(tx, actor.userId);
    const target = await store.lockDevice(tx, input.deviceId);
    if (!target || target.user_id !== actor.userId) throw new AppError('not_found', `Device "${input.deviceId}" was not found`);
    checkCert(cert, { userId: actor.userId, deviceId: input.deviceId });
    if (target.status !== 'pending') throw new AppError('device_not_pending', `Device "${input.deviceId}" is ${target.status}, not pending`);
    if (input.deviceId === actor.sessionId) {
      if ((await store.countDevices(tx, { userId: actor.userId, statuses: ['active'] })) > 0) {
        throw new AppError('device_not_active', 'Another active device of this account must approve this one');
      }
    } else {
      await requireActiveDevice(tx, actor);
    }
    await store.activateDevice(tx, { deviceId: input.deviceId, cert, now });
    await recordUserEvent(work, actor.userId, { type: 'device.approved', deviceId: input.deviceId });
    return toDevice({ ...target, status: 'active', cert, approved_at: now }, { own: true });
  });
}

/**
 * A user's devices and newest signed device list: mine with the pending ones, another's active only. A deleted
 * account answers with none (its devices ended with it), so the members of its chats can tell to remove them.
 */
export async function listDevices(s: Services, actor: Actor, userId: string): Promise<{ devices: Device[]; deviceList: DeviceList | null }> {
  return withinReadLimits(s, actor, async () => {
    const db = s.db.kysely;
    if (!(await store.userExists(db, userId, { deleted: true }))) throw userNotFound(userId);
    const own = userId === actor.userId;
    const rows = await store.userDevices(db, { userId, statuses: own ? ['active', 'pending'] : ['active'] });
    const list = await store.latestDeviceList(db, userId);
    return { devices: rows.map((r) => toDevice(r, { own })), deviceList: list ? toDeviceList(list) : null };
  });
}

/** The versions of a user's device list after `after`, oldest first, a page at a time. */
export async function getDeviceLists(s: Services, actor: Actor, input: { userId: string; after?: number }): Promise<{ lists: DeviceList[]; hasMore: boolean }> {
  return withinReadLimits(s, actor, async () => {
    const db = s.db.kysely;
    if (!(await store.userExists(db, input.userId))) throw userNotFound(input.userId);
    const rows = await store.deviceListsAfter(db, { userId: input.userId, after: input.after ?? 0, limit: DEVICE_LISTS_PAGE + 1 });
    return { lists: rows.slice(0, DEVICE_LISTS_PAGE).map(toDeviceList), hasMore: rows.length > DEVICE_LISTS_PAGE };
  });
}

/**
 * Publishes the next version of my signed device list, from an active device. A compare-and-swap on
 * the version: it must be the current one plus 1 (1 for the first), so two devices changing the list
 * at once cannot both win; the loser fetches the winner's version and signs on top of it.
 */
export async function publishDeviceList(s: Services, actor: Actor, input: { version: number; data: string }): Promise<DeviceList> {
  await takeWritePoint(s, actor);
  const data = bytesOf(input.data, { max: MAX_DEVICE_LIST_BYTES, what: 'The device list' });
  return commit(s, async (work) => {
    const { tx, now } = work;
    await requireActiveDevice(tx, actor);
    const current = Number((await store.latestDeviceList(tx, actor.userId))?.version ?? 0);
    const conflict = () =>
      new AppError('device_list_conflict', `Device list version ${input.version} is not the next after ${current}: fetch the newest and sign on top of it`);
    if (input.version !== current + 1) throw conflict();
    const row = { user_id: actor.userId, version: input.version, data, created_at: now };
    try {
      await store.insertDeviceList(tx, row);
    } catch (err) {
      // Another device published the same version meanwhile.
      if (isUniqueViolation(err)) throw conflict();
      throw err;
    }
    await recordUserEvent(work, actor.userId, { type: 'device_list.updated', version: input.version });
    return toDeviceList(row);
  });
}
