import {
  MAX_COMMIT_BYTES,
  MAX_GROUP_ID_BYTES,
  MAX_GROUP_INFO_BYTES,
  MAX_WELCOME_BYTES,
  MLS_CIPHER_SUITE,
  type MlsDeviceRef,
  type MlsFailureCause,
  type MlsGroupInfo,
} from '@parley/protocol';
import { isUniqueViolation } from '../../adapters/db/database.ts';
import type { MlsGroupDevicesTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { requireMember } from '../chats/access.ts';
import { memberIds } from '../chats/chats.store.ts';
import { requireActiveDevice } from '../devices/devices.ts';
import { bytesOf } from '../devices/identity.ts';
import { takeWritePoint, withinReadLimits } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { recordChatEvent } from '../sync/event-log.ts';
import { commit as commitWork } from '../sync/unit-of-work.ts';
import { FramingError, readCommit, readGroupInfo, readWelcome, type CommitFrame } from './framing.ts';
import * as store from './mls.store.ts';

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

export interface PostCommitInput {
  chatId: string;
  clientCommitId: string;
  epoch: number;
  commit: string;
  groupInfo: string;
  welcome?: string;
  init?: { groupId: string; cipherSuite: number };
  addDevices?: MlsDeviceRef[];
  removeDevices?: MlsDeviceRef[];
}

/** Chat kinds that may have an MLS group today: groups come later, channels never. */
const E2EE_KINDS = new Set(['private', 'self']);

function invalid(message: string): AppError {
  return new AppError('mls_commit_invalid', message);
}

function conflict(chatId: string, current: number | null): AppError {
  return new AppError(
    'mls_epoch_conflict',
    current === null ? `Chat "${chatId}" has no MLS group yet: its first commit carries init` : `The MLS group of chat "${chatId}" is at epoch ${current}`,
  );
}

function framed<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof FramingError) throw invalid(err.message);
    throw err;
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

function distinct(devices: MlsDeviceRef[], what: string): void {
  if (new Set(devices.map((d) => d.deviceId)).size !== devices.length) throw new AppError('invalid_request', `${what} names a device twice`);
}

interface Bundle {
  commit: Buffer;
  groupInfo: Buffer;
  welcome: Buffer | undefined;
  frame: CommitFrame;
}

/**
 * The framing checks (framing.ts): a PublicMessage commit of this group at the epoch posted, the
 * GroupInfo of the same group at the next epoch in cipher suite 1, a Welcome in suite 1 exactly when
 * devices are added by a member. Nothing is written before they pass.
 */
function checkBundle(input: PostCommitInput, groupId: Buffer): Bundle {
  const commit = bytesOf(input.commit, { max: MAX_COMMIT_BYTES, what: 'The commit' });
  const groupInfo = bytesOf(input.groupInfo, { max: MAX_GROUP_INFO_BYTES, what: 'The GroupInfo' });
  const welcome = input.welcome === undefined ? undefined : bytesOf(input.welcome, { max: MAX_WELCOME_BYTES, what: 'The Welcome' });
  const frame = framed(() => readCommit(commit));
  if (!sameBytes(frame.groupId, groupId)) throw invalid("The commit is not of this chat's group");
  if (frame.epoch !== BigInt(input.epoch)) throw invalid(`The commit is framed at epoch ${frame.epoch}, not ${input.epoch}`);
  const info = framed(() => readGroupInfo(groupInfo));
  if (info.cipherSuite !== MLS_CIPHER_SUITE) throw invalid(`The GroupInfo is of cipher suite ${info.cipherSuite}, not ${MLS_CIPHER_SUITE}`);
  if (!sameBytes(info.groupId, groupId)) throw invalid("The GroupInfo is not of this chat's group");
  if (info.epoch !== BigInt(input.epoch + 1)) throw invalid(`The GroupInfo is of epoch ${info.epoch}, not ${input.epoch + 1}`);
  if (welcome) {
    const w = framed(() => readWelcome(welcome));
    if (w.cipherSuite !== MLS_CIPHER_SUITE) throw invalid(`The Welcome is of cipher suite ${w.cipherSuite}, not ${MLS_CIPHER_SUITE}`);
  }
  const adding = (input.addDevices ?? []).length > 0;
  if (frame.sender === 'member' && adding && !welcome) throw invalid('A commit that adds devices carries their Welcome');
  if (!adding && welcome) throw invalid('A Welcome comes with the devices it adds');
  return { commit, groupInfo, welcome, frame };
}

/**
 * Accepts a commit of the chat's MLS group from an active device of a member. A retry (same
 * clientCommitId from the same device) returns the original. Otherwise the commit must be framed at
 * the group's current epoch: the compare-and-swap (store.advanceEpoch) lets exactly one commit per
 * epoch through and gives it the chat's next position, where an `mls.commit` event carries it to
 * every member's devices in order; every other gets 409 mls_epoch_conflict with the current epoch.
 * With `init` it creates the group (epoch 0 → 1) and makes the chat end-to-end encrypted: private
 * and self chats only, once.
 */
export async function postCommit(s: Services, actor: Actor, input: PostCommitInput): Promise<{ seq: number; epoch: number }> {
  await takeWritePoint(s, actor);
  const db = s.db.kysely;
  const m = await requireMember(db, { chatId: input.chatId, userId: actor.userId });
  const device = await requireActiveDevice(db, actor);
  const key = { chatId: input.chatId, deviceId: device.id, clientCommitId: input.clientCommitId };
  // Before any epoch check: a retry of a commit that got through is answered whatever the epoch is now.
  const original = await store.findCommit(db, key);
  if (original) return original;
  if (!E2EE_KINDS.has(m.chat.kind)) {
    throw new AppError('invalid_request', m.chat.kind === 'channel' ? 'Channels are not end-to-end encrypted' : 'Groups are not end-to-end encrypted yet');
  }

  const state = await store.chatMlsState(db, input.chatId);
  if (!state) throw new AppError('not_found', `Chat "${input.chatId}" was not found`);
  let groupId: Buffer;
  if (input.init) {
    if (state.epoch !== null) throw conflict(input.chatId, state.epoch);
    if (input.init.cipherSuite !== MLS_CIPHER_SUITE) throw invalid(`Cipher suite ${input.init.cipherSuite} is not ${MLS_CIPHER_SUITE}`);
    if (input.epoch !== 0) throw invalid('The first commit of a group is framed at epoch 0');
    groupId = bytesOf(input.init.groupId, { max: MAX_GROUP_ID_BYTES, what: 'The group id' });
    if (groupId.length === 0) throw new AppError('invalid_request', 'The group id is empty');
  } else {
    if (state.epoch === null) throw conflict(input.chatId, null);
    const group = await store.findGroup(db, input.chatId);
    if (!group) throw conflict(input.chatId, null);
    groupId = group.group_id;
  }
  const bundle = checkBundle(input, groupId);
  const added = input.addDevices ?? [];
  const removed = input.removeDevices ?? [];
  distinct(added, 'addDevices');
  distinct(removed, 'removeDevices');
  if (added.some((d) => d.deviceId === device.id))
    throw new AppError('invalid_request', 'addDevices does not name the committer: it is in the group after its commit');
  // Only an external commit may name its own device: a device that lost its state rejoins and replaces its old leaf.
  if (bundle.frame.sender === 'member' && removed.some((d) => d.deviceId === device.id))
    throw new AppError('invalid_request', 'A device does not remove itself');
  if (input.init && bundle.frame.sender !== 'member') throw invalid("The group's first commit is made by its creator, a member");
  if (bundle.frame.sender === 'new_member_commit') {
    // An external join adds only the joiner, and may replace only one of its user's own old leaves.
    if (added.length > 0) throw invalid('An external commit adds only its committer');
    if (removed.length > 1 || removed.some((d) => d.userId !== actor.userId)) throw invalid('An external commit removes at most one device of its own user');
  }
  const newcomers = await store.activeMemberDevices(db, { chatId: input.chatId, deviceIds: added.map((d) => d.deviceId) });
  for (const d of added) {
    if (!newcomers.some((n) => n.id === d.deviceId && n.user_id === d.userId)) {
      throw new AppError('invalid_request', `Device "${d.deviceId}" is not an active device of member "${d.userId}"`);
    }
  }
  if (input.init && (await store.groupIdTaken(db, groupId))) throw invalid('Another chat has a group with this id');

  return commitWork(s, async (work) => {
    const { tx, now } = work;
    const taken = input.init ? await store.initEpoch(tx, input.chatId) : await store.advanceEpoch(tx, { chatId: input.chatId, epoch: input.epoch });
    if (!taken) {
      // Lost the race: maybe to this very commit, posted twice at once, which is then the original.
      const first = await store.findCommit(tx, key);
      if (first) return first;
      const current = await store.chatMlsState(tx, input.chatId);
      throw conflict(input.chatId, current?.epoch ?? null);
    }
    // Under the chat row lock from here: the group's device list cannot change under us.
    const inGroup = await store.groupDevices(tx, input.chatId);
    const isIn = (deviceId: string) => inGroup.some((g) => g.device_id === deviceId);
    if (!input.init && bundle.frame.sender === 'member' && !isIn(device.id)) {
      throw new AppError('forbidden', 'This device is not in the chat\u2019s group: it joins with an external commit');
    }
    for (const d of removed) {
      if (!inGroup.some((g) => g.device_id === d.deviceId && g.user_id === d.userId))
        throw new AppError('invalid_request', `Device "${d.deviceId}" is not in the group`);
    }
    for (const d of added) if (isIn(d.deviceId)) throw new AppError('invalid_request', `Device "${d.deviceId}" is already in the group`);

    try {
      await store.insertCommit(tx, {
        group_id: groupId,
        epoch: taken.epoch,
        chat_id: input.chatId,
        seq: taken.seq,
        device_id: device.id,
        client_commit_id: input.clientCommitId,
      });
    } catch (err) {
      // Keyed by (group, epoch): a second guard, should anything ever let two commits take one epoch.
      if (isUniqueViolation(err)) throw conflict(input.chatId, taken.epoch);
      throw err;
    }
    try {
      if (input.init) {
        await store.insertGroup(tx, {
          chat_id: input.chatId,
          group_id: groupId,
          cipher_suite: MLS_CIPHER_SUITE,
          group_info: bundle.groupInfo,
          group_info_epoch: taken.epoch,
          group_info_seq: taken.seq,
          created_at: now,
        });
      } else {
        await store.setGroupInfo(tx, { chatId: input.chatId, groupInfo: bundle.groupInfo, epoch: taken.epoch, seq: taken.seq });
      }
    } catch (err) {
      if (isUniqueViolation(err)) throw invalid('Another chat has a group with this id');
      throw err;
    }
    await store.removeGroupDevices(tx, { chatId: input.chatId, deviceIds: removed.map((d) => d.deviceId) });
    const joined = (userId: string, deviceId: string): MlsGroupDevicesTable => ({
      chat_id: input.chatId,
      device_id: deviceId,
      user_id: userId,
      joined_seq: taken.seq,
      joined_epoch: taken.epoch,
    });
    await store.insertGroupDevices(tx, [
      ...(isIn(device.id) && !removed.some((d) => d.deviceId === device.id) ? [] : [joined(actor.userId, device.id)]),
      ...added.map((d) => joined(d.userId, d.deviceId)),
    ]);
    await recordChatEvent(work, {
      chatId: input.chatId,
      type: 'mls.commit',
      actorId: actor.userId,
      recipients: await memberIds(tx, input.chatId),
      seq: taken.seq,
      data: {
        mls: {
          epoch: taken.epoch,
          payload: b64(bundle.commit),
          ...(bundle.welcome ? { welcome: b64(bundle.welcome) } : {}),
          senderDeviceId: device.id,
          clientCommitId: input.clientCommitId,
          addedDevices: added,
          removedDevices: removed,
        },
      },
    });
    return { seq: taken.seq, epoch: taken.epoch };
  });
}

/** The newest GroupInfo of the chat's group, for a member; 404 for anyone else and while there is no group. */
export async function getGroupInfo(s: Services, actor: Actor, chatId: string): Promise<MlsGroupInfo> {
  return withinReadLimits(s, actor, async () => {
    const db = s.db.kysely;
    await requireMember(db, { chatId, userId: actor.userId });
    const group = await store.findGroup(db, chatId);
    if (!group) throw new AppError('not_found', `Chat "${chatId}" has no MLS group yet`);
    return { groupId: b64(group.group_id), epoch: group.group_info_epoch, seq: group.group_info_seq, data: b64(group.group_info) };
  });
}

/**
 * A device says it could not decrypt or accept what is at a position of the chat log: counted by cause and
 * logged with the chat, the position and the device, so an operator sees a broken group; never content.
 */
export async function reportMlsFailure(s: Services, actor: Actor, input: { chatId: string; cause: MlsFailureCause; seq: number }): Promise<void> {
  await takeWritePoint(s, actor);
  const m = await requireMember(s.db.kysely, { chatId: input.chatId, userId: actor.userId });
  if (input.seq > Number(m.chat.last_seq)) throw new AppError('invalid_request', `Position ${input.seq} is past the end of the chat log`);
  s.metrics.e2eeFailures.inc({ cause: input.cause });
  s.log.warn({ chatId: input.chatId, seq: input.seq, deviceId: actor.sessionId, cause: input.cause }, 'e2ee failure reported');
}
