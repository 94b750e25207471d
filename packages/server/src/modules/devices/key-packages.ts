import { KEY_PACKAGES_LOW, MAX_KEY_PACKAGE_BYTES, MAX_KEY_PACKAGES_PER_DEVICE, MLS_CIPHER_SUITE, type ClaimedKeyPackage } from '@parley/protocol';
import type { DevicesTable, KeyPackagesTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { takeWritePoint, withinReadLimits } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { recordUserEvent } from '../sync/event-log.ts';
import { commit } from '../sync/unit-of-work.ts';
import { activeDevice, requireActiveDevice } from './devices.ts';
import * as store from './devices.store.ts';
import { FramingError, readKeyPackage } from './framing.ts';
import { bytesOf } from './identity.ts';
import { b64 } from './views.ts';

/** The server keeps a KeyPackage at most this long, whatever lifetime it declares. */
export const MAX_KEY_PACKAGE_KEEP_MS = 365 * 86_400_000;

interface Checked {
  ref: Buffer;
  data: Buffer;
  expiresAt: number;
}

/**
 * Checks one uploaded KeyPackage against the device uploading it: MLS 1.0 framing of a KeyPackage
 * of cipher suite 1 (framing.ts), the leaf's signature key is the device's registered one, its
 * credential is the device's certificate, and its lifetime has not ended.
 */
function checkKeyPackage(device: DevicesTable, base64: string, options: { now: number; what: string }): Checked {
  const data = bytesOf(base64, { max: MAX_KEY_PACKAGE_BYTES, what: options.what });
  const refuse = (why: string) => new AppError('key_package_invalid', `${options.what} is refused: ${why}`);
  let frame;
  try {
    frame = readKeyPackage(data);
  } catch (err) {
    if (err instanceof FramingError) throw refuse(err.message);
    throw err;
  }
  if (frame.cipherSuite !== MLS_CIPHER_SUITE) throw refuse(`cipher suite ${frame.cipherSuite}`);
  if (!device.signature_key.equals(frame.signatureKey)) throw refuse("its signature key is not this device's");
  if (!device.cert || !device.cert.equals(frame.identity)) throw refuse("its credential is not this device's certificate");
  const notAfterMs = Number(frame.notAfter) * 1000;
  if (notAfterMs <= options.now) throw refuse('its lifetime has ended');
  return { ref: frame.ref, data, expiresAt: Math.min(notAfterMs, options.now + MAX_KEY_PACKAGE_KEEP_MS) };
}

export interface UploadKeyPackagesInput {
  keyPackages: string[];
  lastResort?: string;
}

/**
 * Stores KeyPackages of the actor's active device: all checked before anything is written, so a bad
 * one refuses the whole upload. A package already stored is skipped (a retried upload); past
 * MAX_KEY_PACKAGES_PER_DEVICE single-use packages, the upload is refused. `lastResort` replaces the
 * device's last-resort package.
 */
export async function uploadKeyPackages(s: Services, actor: Actor, input: UploadKeyPackagesInput): Promise<{ count: number; lastResort: boolean }> {
  await takeWritePoint(s, actor);
  return commit(s, async (work) => {
    const { tx, now } = work;
    // The device row lock orders the uploads of one device, so the count below holds.
    const device = activeDevice(await store.lockDevice(tx, actor.sessionId), actor);
    const fresh = new Map<string, Checked>();
    input.keyPackages.forEach((kp, i) => {
      const c = checkKeyPackage(device, kp, { now, what: `KeyPackage ${i + 1}` });
      fresh.set(c.ref.toString('hex'), c);
    });
    const lastResort = input.lastResort === undefined ? undefined : checkKeyPackage(device, input.lastResort, { now, what: 'The last-resort KeyPackage' });
    if (lastResort) fresh.delete(lastResort.ref.toString('hex'));
    for (const ref of await store.existingRefs(
      tx,
      [...fresh.values()].map((c) => c.ref),
    ))
      fresh.delete(ref.toString('hex'));

    const stored = await store.countKeyPackageRows(tx, { deviceId: device.id, now });
    if (stored.count + fresh.size > MAX_KEY_PACKAGES_PER_DEVICE) {
      throw new AppError(
        'too_many_key_packages',
        `A device keeps at most ${MAX_KEY_PACKAGES_PER_DEVICE} KeyPackages; it has ${stored.count}, the upload adds ${fresh.size}`,
      );
    }
    const row = (c: Checked, last: boolean): KeyPackagesTable => ({
      ref: c.ref,
      device_id: device.id,
      user_id: device.user_id,
      cipher_suite: MLS_CIPHER_SUITE,
      data: c.data,
      last_resort: last ? 1 : 0,
      expires_at: c.expiresAt,
      created_at: now,
    });
    await store.insertKeyPackages(
      tx,
      [...fresh.values()].map((c) => row(c, false)),
    );
    if (lastResort) {
      await store.deleteLastResort(tx, device.id);
      // The same package may have been stored as single-use before: it becomes the last resort.
      await store.deleteKeyPackage(tx, lastResort.ref);
      await store.insertKeyPackages(tx, [row(lastResort, true)]);
    }
    return store.countKeyPackageRows(tx, { deviceId: device.id, now });
  });
}

export async function countKeyPackages(s: Services, actor: Actor): Promise<{ count: number; lastResort: boolean }> {
  return withinReadLimits(s, actor, () => store.countKeyPackageRows(s.db.kysely, { deviceId: actor.sessionId, now: s.now() }));
}

/** Not a member (or no such chat, or deleted): the same 404. */
function chatNotFound(chatId: string): AppError {
  return new AppError('not_found', `Chat "${chatId}" was not found`);
}

/**
 * Hands out one KeyPackage for every active device of these members of the chat (the actor's own
 * other devices included, the current one not), to add them to the chat's group. Each single-use
 * package goes to one claim only (taken and deleted in one statement); a device with none left
 * gets its last-resort package served, which stays. A device with neither is left out: the claimer
 * sees which devices it got.
 */
export async function claimKeyPackages(s: Services, actor: Actor, input: { chatId: string; userIds: string[] }): Promise<{ keyPackages: ClaimedKeyPackage[] }> {
  await takeWritePoint(s, actor);
  const db = s.db.kysely;
  const kind = await store.memberChatKind(db, { chatId: input.chatId, userId: actor.userId });
  if (!kind) throw chatNotFound(input.chatId);
  if (kind === 'channel') throw new AppError('invalid_request', 'Channels are not end-to-end encrypted');
  await requireActiveDevice(db, actor);
  const members = new Set(await store.chatMembersAmong(db, { chatId: input.chatId, userIds: input.userIds }));
  const outsider = input.userIds.find((id) => !members.has(id));
  if (outsider) throw new AppError('not_member', `User "${outsider}" is not a member of chat "${input.chatId}"`);
  return commit(s, async (work) => {
    const { tx, now } = work;
    const devices = await store.activeDevicesOf(tx, { userIds: input.userIds, except: actor.sessionId });
    const keyPackages: ClaimedKeyPackage[] = [];
    for (const d of devices) {
      const taken = await store.takeKeyPackage(tx, { deviceId: d.id, now });
      // Running low: the device uploads more when it hears of it (at most KEY_PACKAGES_LOW times a refill).
      if (taken && (await store.countKeyPackageRows(tx, { deviceId: d.id, now })).count < KEY_PACKAGES_LOW) {
        await recordUserEvent(work, d.user_id, { type: 'key_packages.low', deviceId: d.id });
      }
      const data = taken ?? (await store.lastResortKeyPackage(tx, { deviceId: d.id, now }));
      if (data) keyPackages.push({ userId: d.user_id, deviceId: d.id, data: b64(data), lastResort: taken === undefined });
    }
    return { keyPackages };
  });
}
