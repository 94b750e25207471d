import { recordUserEvent } from '../sync/event-log.ts';
import type { Work } from '../sync/unit-of-work.ts';
import { endDeviceRows } from './devices.store.ts';

/**
 * The devices of these sessions end with them, in the same change: marked ended, their KeyPackages
 * deleted (nobody can add an ended device to a group), and a device.ended event in the owner's log so
 * the user's other devices hear of it. Every place that deletes sessions calls it.
 */
export async function endDevices(work: Work, sessionIds: string[]): Promise<void> {
  if (sessionIds.length === 0) return;
  const ended = await endDeviceRows(work.tx, { deviceIds: sessionIds, now: work.now });
  for (const d of ended) await recordUserEvent(work, d.user_id, { type: 'device.ended', deviceId: d.id });
}
