import type { Member } from '@parley/protocol';
import { AppError } from '../../lib/errors.ts';
import { takeWritePoint } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { recordChatEvent, recordChatEvents, recordUserEvent, recordUserEvents } from '../sync/event-log.ts';
import { takeChatSeqs } from '../sync/event-log.store.ts';
import type { Work } from '../sync/unit-of-work.ts';
import { changeAsMember } from './access.ts';
import * as store from './chats.store.ts';
import { addPolicies, insertInvitations, sharingAChat } from './invitations.store.ts';
import { deleteForEveryone, hideForMe } from './delete.ts';
import { loadMembers } from './get.ts';
import { checkChatLimit, memberLimit, requireUsers } from './limits.ts';

export interface NewMembers {
  chatId: string;
  users: { id: string; role: store.MemberRole }[];
  actorId: string | null;
}

/** Adds members: each gets a member.added position in the chat and a chat.joined entry in their own log. */
export async function addMemberRows(work: Work, added: NewMembers): Promise<void> {
  const { chatId, users, actorId } = added;
  if (users.length === 0) return;
  await store.addToMemberCount(work.tx, { chatId, by: users.length });
  // In bulk: the member list read once, the positions taken at once, rows written a chunk at a time,
  // so a channel of thousands is built in a few statements, not several per member.
  const members = await store.memberIds(work.tx, chatId);
  const first = (await takeChatSeqs(work.tx, { chatId, count: users.length })) - users.length + 1;
  // Member i joins just before its own member.added event (at first + i), so it receives that event too.
  const joinedAt = (i: number) => first + i - 1;
  await store.insertMembers(
    work.tx,
    users.map((u, i) => ({ chatId, userId: u.id, role: u.role, joinedAt: work.now, seq: joinedAt(i) })),
  );
  await recordUserEvents(
    work,
    users.map((u, i) => ({ userId: u.id, e: { type: 'chat.joined', chatId, seq: joinedAt(i) } })),
  );
  await recordChatEvents(
    work,
    users.map((u, i) => {
      members.push(u.id);
      return { chatId, type: 'member.added', actorId, recipients: [...members], data: { member: { userId: u.id, role: u.role } }, seq: first + i };
    }),
  );
}

/** Takes a member out: a member.removed position in the chat (they receive it too) and chat.left in their log. */
export async function removeMemberRow(work: Work, removed: { chatId: string; userId: string; actorId: string | null }): Promise<void> {
  const { chatId, userId, actorId } = removed;
  const recipients = await store.memberIds(work.tx, chatId);
  await store.deleteMember(work.tx, { chatId, userId });
  await store.addToMemberCount(work.tx, { chatId, by: -1 });
  await recordChatEvent(work, { chatId, type: 'member.removed', actorId, recipients, data: { member: { userId, role: null } } });
  await recordUserEvent(work, userId, { type: 'chat.left', chatId });
}

/**
 * Puts people in a group or channel as their privacy setting allows: those who let the actor add
 * them become members, the others get an invitation they may accept. Returns who was invited.
 */
export async function admit(s: Services, work: Work, options: { chatId: string; kind: string; userIds: string[]; actorId: string }): Promise<string[]> {
  const { chatId, userIds, actorId } = options;
  const policies = await addPolicies(work.tx, userIds);
  const contacts = await sharingAChat(work.tx, { userId: actorId, userIds: userIds.filter((id) => policies.get(id) === 'contacts') });
  const allowed = (id: string) => policies.get(id) === 'everyone' || (policies.get(id) === 'contacts' && contacts.has(id));
  const added = userIds.filter(allowed);
  const asked = userIds.filter((id) => !allowed(id));
  await checkChatLimit(s, work.tx, added);
  const role: store.MemberRole = options.kind === 'group' ? 'member' : 'subscriber';
  await addMemberRows(work, { chatId, users: added.map((id) => ({ id, role })), actorId });
  await insertInvitations(work.tx, { chatId, userIds: asked, invitedBy: actorId, at: work.now });
  return asked;
}

export async function addMembers(s: Services, actor: Actor, input: { chatId: string; userIds: string[] }): Promise<{ members: Member[]; invited: string[] }> {
  const { chatId } = input;
  const ids = [...new Set(input.userIds)];
  await takeWritePoint(s, actor);
  let invited: string[] = [];
  await changeAsMember(s, { actor, chatId, admin: 'add members' }, async (work, m) => {
    await requireUsers(work.tx, ids);
    const existing = await store.existingMembers(work.tx, { chatId, userIds: ids });
    if (existing.length > 0) throw new AppError('already_member', `User "${existing[0]}" is already a member`);
    const max = memberLimit(s, m.chat.kind);
    if (m.chat.member_count + ids.length > max) throw new AppError('member_limit_reached', `A ${m.chat.kind} can have at most ${max} members`);
    invited = await admit(s, work, { chatId, kind: m.chat.kind, userIds: ids, actorId: actor.userId });
  });
  const asked = new Set(invited);
  const added = ids.filter((id) => !asked.has(id));
  return { members: added.length > 0 ? await loadMembers(s, { chatId, userIds: added }) : [], invited };
}

/** The member a command is about, or 404. */
export async function requireTarget(work: Work, options: { chatId: string; userId: string }) {
  const row = await store.findMember(work.tx, options);
  if (!row) throw new AppError('not_found', `User "${options.userId}" is not a member of this chat`);
  return row;
}

export async function removeMember(s: Services, actor: Actor, input: { chatId: string; userId: string }): Promise<void> {
  const { chatId, userId } = input;
  await changeAsMember(s, { actor, chatId, admin: 'remove members' }, async (work, m) => {
    if (userId === actor.userId) throw new AppError('invalid_request', 'Use leaveChat to leave');
    const target = await requireTarget(work, { chatId, userId });
    if (target.role === 'owner') throw new AppError('forbidden', 'The owner cannot be removed');
    if (target.role === 'admin' && m.member.role !== 'owner') throw new AppError('forbidden', 'Only the owner can remove an admin');
    await removeMemberRow(work, { chatId, userId, actorId: actor.userId });
  });
}

export async function leaveChat(s: Services, actor: Actor, chatId: string): Promise<void> {
  await changeAsMember(s, { actor, chatId }, async (work, m) => {
    if (m.chat.kind === 'self') throw new AppError('invalid_request', 'Saved messages cannot be left');
    if (m.chat.kind === 'private') return hideForMe(work, m);
    if (m.member.role === 'owner') {
      if (m.chat.member_count > 1) throw new AppError('invalid_request', 'The owner must hand over ownership before leaving');
      return deleteForEveryone(work, chatId);
    }
    await removeMemberRow(work, { chatId, userId: actor.userId, actorId: actor.userId });
  });
}
