import { MAX_MLS_MESSAGE_BYTES, type MlsApplicationMessage } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { DB } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { requireActiveDevice } from '../devices/devices.ts';
import { bytesOf } from '../devices/identity.ts';
import type { Actor } from '../services.ts';
import { FramingError, readApplicationMessage } from './framing.ts';
import * as store from './mls.store.ts';

// Application messages of an end-to-end encrypted chat: what the server checks before it gives one a
// position. It reads the framing only (group and epoch); the sender and the content stay encrypted.

export interface CheckedApplicationMessage {
  ciphertext: Buffer;
  epoch: number;
  editOf: string | null;
  deviceId: string;
}

/**
 * Before the transaction: the sender's session is an active device, and the ciphertext is an MLS
 * application message of this chat's group framed at the epoch it declares.
 */
export async function checkApplicationMessage(db: Kysely<DB>, actor: Actor, chatId: string, input: MlsApplicationMessage): Promise<CheckedApplicationMessage> {
  const ciphertext = bytesOf(input.ciphertext, { max: MAX_MLS_MESSAGE_BYTES, what: 'The ciphertext' });
  let frame: { groupId: Uint8Array; epoch: bigint };
  try {
    frame = readApplicationMessage(ciphertext);
  } catch (err) {
    if (err instanceof FramingError) throw new AppError('mls_message_invalid', err.message);
    throw err;
  }
  if (frame.epoch !== BigInt(input.epoch)) throw new AppError('mls_message_invalid', `The message is framed at epoch ${frame.epoch}, not ${input.epoch}`);
  const device = await requireActiveDevice(db, actor);
  const group = await store.findGroup(db, chatId);
  // A chat without a group takes no ciphertext; whether it takes text is the send's to say.
  if (group && !Buffer.from(frame.groupId).equals(group.group_id)) throw new AppError('mls_message_invalid', "The message is not of this chat's group");
  return { ciphertext, epoch: input.epoch, editOf: input.editOf ?? null, deviceId: device.id };
}

/**
 * Under the chat row lock, with the position taken: the sending device is in the group (else 403
 * mls_not_in_group), the message is at the group's current epoch (else 409 mls_epoch_conflict: the
 * sender catches up and encrypts again), and no device whose session ended is still in it (409 mls_commit_required: a member first commits its
 * removal, so an ended device never receives another message).
 */
export async function requireSendable(tx: Tx, options: { chatId: string; epoch: number | null; message: CheckedApplicationMessage }): Promise<void> {
  const { chatId, epoch, message } = options;
  if (epoch === null) throw new AppError('mls_epoch_conflict', `Chat "${chatId}" has no MLS group yet: its first commit carries init`);
  const devices = await store.groupDeviceStates(tx, chatId);
  if (!devices.some((d) => d.device_id === message.deviceId)) {
    throw new AppError('mls_not_in_group', 'This device is not in the chat\u2019s group: it joins with an external commit');
  }
  if (epoch !== message.epoch) throw new AppError('mls_epoch_conflict', `The MLS group of chat "${chatId}" is at epoch ${epoch}`);
  const ended = devices.filter((d) => d.status !== 'active').map((d) => d.device_id);
  if (ended.length > 0) {
    throw new AppError('mls_commit_required', `Devices whose sessions ended are still in the group; a member removes them first: ${ended.join(', ')}`);
  }
}
