import type { Chat, Member } from '@parley/protocol';
import { AppError } from '../../lib/errors.ts';
import type { Actor, Services } from '../services.ts';
import { recordChatEvent } from '../sync/event-log.ts';
import type { Work } from '../sync/unit-of-work.ts';
import { changeAsMember } from './access.ts';
import * as store from './chats.store.ts';
import { getChat, loadMembers } from './get.ts';
import { requireTarget } from './members.ts';

/** Gives a member a role: a member.updated position in the chat. */
export async function giveRole(work: Work, change: { chatId: string; userId: string; role: store.MemberRole; actorId: string | null }): Promise<void> {
  const { chatId, userId, role, actorId } = change;
  await store.setRole(work.tx, { chatId, userId, role });
  await recordChatEvent(work, {
    chatId,
    type: 'member.updated',
    actorId,
    recipients: await store.memberIds(work.tx, chatId),
    data: { member: { userId, role } },
  });
}

/** Hands a chat to a member, who becomes its owner. */
export async function handOver(work: Work, change: { chatId: string; userId: string; actorId: string | null }): Promise<void> {
  await store.setOwner(work.tx, { chatId: change.chatId, userId: change.userId });
  await giveRole(work, { ...change, role: 'owner' });
}

export async function setMemberRole(s: Services, actor: Actor, input: { chatId: string; userId: string; role: 'admin' | 'member' }): Promise<Member> {
  const { chatId, userId, role } = input;
  await changeAsMember(s, { actor, chatId, admin: 'change roles' }, async (work, m) => {
    if (m.member.role !== 'owner') throw new AppError('forbidden', 'Only the owner can change roles');
    const target = await requireTarget(work, { chatId, userId });
    if (target.role === 'owner') throw new AppError('invalid_request', 'Use transferOwnership to change the owner');
    const next: store.MemberRole = role === 'admin' ? 'admin' : m.chat.kind === 'channel' ? 'subscriber' : 'member';
    if (target.role !== next) await giveRole(work, { chatId, userId, role: next, actorId: actor.userId });
  });
  const [member] = await loadMembers(s, { chatId, userIds: [userId] });
  return member!;
}

export async function transferOwnership(s: Services, actor: Actor, input: { chatId: string; userId: string }): Promise<Chat> {
  const { chatId, userId } = input;
  await changeAsMember(s, { actor, chatId, admin: 'change owners' }, async (work, m) => {
    if (m.member.role !== 'owner') throw new AppError('forbidden', 'Only the owner can hand over ownership');
    if (userId === actor.userId) throw new AppError('invalid_request', 'You already own this chat');
    await requireTarget(work, { chatId, userId });
    await handOver(work, { chatId, userId, actorId: actor.userId });
    await giveRole(work, { chatId, userId: actor.userId, role: 'admin', actorId: actor.userId });
  });
  return getChat(s, actor, chatId);
}
