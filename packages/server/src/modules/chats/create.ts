import type { Chat } from '@parley/protocol';
import { isUniqueViolation } from '../../adapters/db/database.ts';
import { AppError } from '../../lib/errors.ts';
import { newId } from '../../lib/ids.ts';
import { normalizeTitle } from '../../lib/text.ts';
import { takeWritePoint } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { recordUserEvent } from '../sync/event-log.ts';
import { commit, type Work } from '../sync/unit-of-work.ts';
import { findChatIdByPairKey, insertChat, insertMember } from './chats.store.ts';
import { getChat } from './get.ts';
import { checkChatLimit, memberLimit, requireUsers } from './limits.ts';
import { admit } from './members.ts';

/** Saved messages: one per user, made with the account; end-to-end encrypted from the start when `e2ee` (PARLEY_E2EE). */
export async function createSelfChat(work: Work, userId: string, options: { e2ee: boolean }): Promise<void> {
  const chatId = newId();
  await insertChat(work.tx, {
    id: chatId,
    kind: 'self',
    title: null,
    owner_id: userId,
    pair_key: `self:${userId}`,
    member_count: 1,
    created_at: work.now,
    e2ee: options.e2ee ? 1 : 0,
  });
  await insertMember(work.tx, { chatId, userId, role: 'owner', joinedAt: work.now, seq: 0 });
}

export async function createPrivateChat(s: Services, actor: Actor, otherId: string): Promise<Chat> {
  if (otherId === actor.userId) throw new AppError('invalid_request', 'Use saved messages to write to yourself');
  const pairKey = [actor.userId, otherId].sort().join(':');
  // Opening a chat that exists creates nothing, so it is not held to the chat limit.
  const open = await findChatIdByPairKey(s.db.kysely, pairKey);
  if (open) return getChat(s, actor, open);
  await takeWritePoint(s, actor);
  try {
    await commit(s, async (work) => {
      await requireUsers(work.tx, [otherId]);
      await checkChatLimit(s, work.tx, [actor.userId, otherId]);
      const chatId = newId();
      // The unique pair key makes a concurrent creation by the other user fail here instead of duplicating.
      // With PARLEY_E2EE on, encrypted from the start: no text is ever taken into it, the first device's commit makes its group.
      await insertChat(work.tx, {
        id: chatId,
        kind: 'private',
        title: null,
        owner_id: null,
        pair_key: pairKey,
        member_count: 2,
        created_at: work.now,
        e2ee: s.config.e2ee ? 1 : 0,
      });
      for (const userId of [actor.userId, otherId].sort()) {
        await insertMember(work.tx, { chatId, userId, role: 'member', joinedAt: work.now, seq: 0 });
        await recordUserEvent(work, userId, { type: 'chat.joined', chatId, seq: 0 });
      }
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  const existing = await findChatIdByPairKey(s.db.kysely, pairKey);
  if (!existing) throw new AppError('not_found', `User "${otherId}" was not found`);
  return getChat(s, actor, existing);
}

export interface NewChatInput {
  title: string;
  memberIds?: string[];
}

async function createMultiChat(s: Services, actor: Actor, options: NewChatInput & { kind: 'group' | 'channel' }): Promise<Chat> {
  const { kind } = options;
  const title = normalizeTitle(options.title);
  const others = [...new Set(options.memberIds ?? [])].filter((id) => id !== actor.userId);
  const max = memberLimit(s, kind);
  if (others.length + 1 > max) throw new AppError('member_limit_reached', `A ${kind} can have at most ${max} members`);
  await takeWritePoint(s, actor);
  const chatId = newId();
  await commit(s, async (work) => {
    await requireUsers(work.tx, others);
    await checkChatLimit(s, work.tx, [actor.userId]);
    await insertChat(work.tx, { id: chatId, kind, title, owner_id: actor.userId, pair_key: null, member_count: 1, created_at: work.now });
    await insertMember(work.tx, { chatId, userId: actor.userId, role: 'owner', joinedAt: work.now, seq: 0 });
    await recordUserEvent(work, actor.userId, { type: 'chat.joined', chatId, seq: 0 });
    // Those whose privacy setting does not let me add them are invited instead (see admit).
    await admit(s, work, { chatId, kind, userIds: others, actorId: actor.userId });
  });
  return getChat(s, actor, chatId);
}

export function createGroup(s: Services, actor: Actor, input: NewChatInput): Promise<Chat> {
  return createMultiChat(s, actor, { ...input, kind: 'group' });
}

export function createChannel(s: Services, actor: Actor, input: NewChatInput): Promise<Chat> {
  return createMultiChat(s, actor, { ...input, kind: 'channel' });
}
