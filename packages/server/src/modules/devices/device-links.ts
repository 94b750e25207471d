import { DEVICE_LINK_TTL_MS, MAX_DEVICE_LINK_BYTES, type DeviceLinkMessage } from '@parley/protocol';
import { AppError } from '../../lib/errors.ts';
import { iso } from '../../lib/time.ts';
import { takeWritePoint, withinReadLimits } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { commit } from '../sync/unit-of-work.ts';
import * as store from './devices.store.ts';
import * as links from './device-links.store.ts';
import { bytesOf } from './identity.ts';
import { b64 } from './views.ts';

// The device-link mailbox (docs/e2ee.md, "Linking a device"): the server relays a few opaque messages between a
// pending device and an active device of the same account. It cannot read or usefully forge them (the SDK seals
// and authenticates them against keys the user compares); what it enforces is who may talk to whom, size and age.

/**
 * Leaves a message for another device of the actor's: an active device writes to a pending one, a pending device
 * to an active one. Another user's device, or one that does not exist, is 404 alike.
 */
export async function postDeviceLink(s: Services, actor: Actor, input: { deviceId: string; data: string }): Promise<void> {
  await takeWritePoint(s, actor);
  const data = bytesOf(input.data, { max: MAX_DEVICE_LINK_BYTES, what: 'The link message' });
  if (data.length === 0) throw new AppError('invalid_request', 'The link message is empty');
  if (input.deviceId === actor.sessionId) throw new AppError('invalid_request', 'A device cannot leave a link message for itself');
  await commit(s, async ({ tx, now }) => {
    const sender = await store.findDevice(tx, actor.sessionId);
    if (!sender || sender.user_id !== actor.userId || sender.status === 'ended') {
      throw new AppError('device_not_active', 'This session is not an end-to-end encryption device');
    }
    const target = await store.findDevice(tx, input.deviceId);
    if (!target || target.user_id !== actor.userId || target.status === 'ended') throw new AppError('not_found', `Device "${input.deviceId}" was not found`);
    if (sender.status === 'active' && target.status !== 'pending') {
      throw new AppError('device_not_pending', `Device "${input.deviceId}" is ${target.status}: link messages go between a pending and an active device`);
    }
    if (sender.status === 'pending' && target.status !== 'active') {
      throw new AppError('device_not_active', `Device "${input.deviceId}" is ${target.status}: a pending device writes only to an active one`);
    }
    await links.putDeviceLink(tx, {
      recipient_device_id: target.id,
      sender_device_id: sender.id,
      user_id: actor.userId,
      data,
      created_at: now,
      expires_at: now + DEVICE_LINK_TTL_MS,
    });
  });
}

/** Takes the unexpired messages left for the actor's device (pending or active): each is returned once. */
export async function getDeviceLink(s: Services, actor: Actor, input: { from?: string }): Promise<{ messages: DeviceLinkMessage[] }> {
  return withinReadLimits(s, actor, async () => {
    const db = s.db.kysely;
    const me = await store.findDevice(db, actor.sessionId);
    if (!me || me.user_id !== actor.userId || me.status === 'ended')
      throw new AppError('device_not_active', 'This session is not an end-to-end encryption device');
    const rows = await links.takeDeviceLinks(db, { recipientDeviceId: me.id, ...(input.from ? { senderDeviceId: input.from } : {}), now: s.now() });
    return { messages: rows.map((r) => ({ senderDeviceId: r.sender_device_id, data: b64(r.data), createdAt: iso(Number(r.created_at)) })) };
  });
}
