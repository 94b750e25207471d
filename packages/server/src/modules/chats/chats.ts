import type { Chat, Member } from '@parley/protocol';
import { isUniqueViolation, type Tx } from '../../adapters/db/database.ts';
import type { ChatsTable, MembersTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../errors.ts';
import type { Actor, Services } from '../../services.ts';
import { newId } from '../sessions/tokens.ts';
import { nextChatSeq, Outbox, recordChatEvent, recordUserEvent } from '../sync/log.ts';
import { chatNotFound, memberIds, requireAdmin, requireMember, type Membership } from './access.ts';
import { loadChatViews, loadMembers } from './views.ts';

type MemberRole = MembersTable['role'];

/**
 * Runs a change to chats in one transaction and publishes its events after commit. `grouped` lets
 * it share a transaction with other changes arriving at the same moment (see Database.grouped).
 */
export async function change<T>(s: Services, fn: (tx: Tx, out: Outbox) => Promise<T>, opts: { grouped?: boolean } = {}): Promise<T> {
  let out = new Outbox();
  const attempt = (tx: Tx) => {
    // A retried transaction starts with an empty outbox: events of a rolled-back attempt never go out.
    out = new Outbox();
    return fn(tx, out);
  };
  const result = await (opts.grouped ? s.db.grouped(attempt) : s.db.transaction(attempt));
  out.publish(s);
  return result;
}

export async function getChat(s: Services, actor: Actor, chatId: string): Promise<Chat> {
  const [chat] = await loadChatViews(s.db, actor.userId, { chatIds: [chatId], includeHidden: true });
  if (!chat) throw chatNotFound(chatId);
  return chat;
}

export async function listChats(s: Services, actor: Actor): Promise<Chat[]> {
  return loadChatViews(s.db, actor.userId);
}

/** Locks user rows in id order (PostgreSQL), so limits per user hold under concurrency without deadlocks. */
async function lockUsers(s: Services, tx: Tx, userIds: string[]): Promise<void> {
  if (s.db.dialect !== 'postgres' || userIds.length === 0) return;
  await s.db.forUpdate(tx.selectFrom('users').select('id').where('id', 'in', userIds).orderBy('id')).execute();
}

/** Refuses when any of these users is already in as many chats as allowed. */
async function checkChatLimit(s: Services, tx: Tx, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  await lockUsers(s, tx, userIds);
  const rows = await tx
    .selectFrom('members')
    .select(['user_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('user_id', 'in', userIds)
    .groupBy('user_id')
    .execute();
  const max = s.config.limits.chatsPerUser;
  const full = rows.find((r) => Number(r.n) >= max);
  if (full) throw new AppError('chat_limit_reached', `A user can be in at most ${max} chats; user "${full.user_id}" is at the limit`);
}

async function requireUsers(tx: Tx, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  const rows = await tx.selectFrom('users').select('id').where('id', 'in', userIds).where('deleted_at', 'is', null).execute();
  if (rows.length !== userIds.length) {
    const found = new Set(rows.map((r) => r.id));
    throw new AppError('not_found', `User "${userIds.find((id) => !found.has(id))}" was not found`);
  }
}

async function insertChat(tx: Tx, chat: Omit<ChatsTable, 'last_seq' | 'member_count' | 'deleted_at'>): Promise<void> {
  await tx.insertInto('chats').values({ ...chat, last_seq: 0, member_count: 0, deleted_at: null }).execute();
}

/** Adds members: each gets a member.added position in the chat and a chat.joined entry in their own log. */
async function addMemberRows(s: Services, tx: Tx, out: Outbox, chatId: string, users: { id: string; role: MemberRole }[], actorId: string | null, now: number) {
  if (users.length === 0) return;
  await tx
    .updateTable('chats')
    .set((eb) => ({ member_count: eb('member_count', '+', users.length) }))
    .where('id', '=', chatId)
    .execute();
  for (const u of users) {
    const seq = await nextChatSeq(tx, chatId);
    // Joining just before its own member.added event, the new member receives that event too.
    await tx.insertInto('members').values({ chat_id: chatId, user_id: u.id, role: u.role, joined_at: now, joined_seq: seq - 1, read_seq: seq - 1, hidden_seq: null, muted: 0 }).execute();
    await recordUserEvent(tx, out, u.id, { type: 'chat.joined', chatId, seq: seq - 1 }, now);
    const recipients = await memberIds(tx, chatId);
    await recordChatEvent(tx, out, { chatId, type: 'member.added', actorId, recipients, data: { member: { userId: u.id, role: u.role } }, seq }, now);
  }
}

/** Saved messages: one per user, made with the account. */
export async function createSelfChat(tx: Tx, userId: string, now: number): Promise<void> {
  const id = newId();
  await insertChat(tx, { id, kind: 'self', title: null, owner_id: userId, pair_key: `self:${userId}`, created_at: now });
  await tx.insertInto('members').values({ chat_id: id, user_id: userId, role: 'owner', joined_at: now, joined_seq: 0, read_seq: 0, hidden_seq: null, muted: 0 }).execute();
  await tx.updateTable('chats').set({ member_count: 1 }).where('id', '=', id).execute();
}

export async function createPrivateChat(s: Services, actor: Actor, otherId: string): Promise<Chat> {
  if (otherId === actor.userId) throw new AppError('invalid_request', 'Use saved messages to write to yourself');
  const pairKey = [actor.userId, otherId].sort().join(':');
  const now = s.now();
  // Opening a chat that exists creates nothing, so it is not held to the chat limit.
  const open = await s.db.kysely.selectFrom('chats').select('id').where('pair_key', '=', pairKey).executeTakeFirst();
  if (open) return getChat(s, actor, open.id);
  try {
    await change(s, async (tx, out) => {
      await requireUsers(tx, [otherId]);
      await checkChatLimit(s, tx, [actor.userId, otherId]);
      const id = newId();
      // The unique pair key makes a concurrent creation by the other user fail here instead of duplicating.
      await insertChat(tx, { id, kind: 'private', title: null, owner_id: null, pair_key: pairKey, created_at: now });
      await tx.updateTable('chats').set({ member_count: 2 }).where('id', '=', id).execute();
      for (const userId of [actor.userId, otherId].sort()) {
        await tx.insertInto('members').values({ chat_id: id, user_id: userId, role: 'member', joined_at: now, joined_seq: 0, read_seq: 0, hidden_seq: null, muted: 0 }).execute();
        await recordUserEvent(tx, out, userId, { type: 'chat.joined', chatId: id, seq: 0 }, now);
      }
    });
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
  const existing = await s.db.kysely.selectFrom('chats').select('id').where('pair_key', '=', pairKey).executeTakeFirst();
  if (!existing) throw new AppError('not_found', `User "${otherId}" was not found`);
  return getChat(s, actor, existing.id);
}

async function createMultiChat(s: Services, actor: Actor, kind: 'group' | 'channel', input: { title: string; memberIds?: string[] }): Promise<Chat> {
  const title = input.title.normalize('NFC').trim();
  if (title.length === 0) throw new AppError('invalid_request', 'The title must not be blank');
  const others = [...new Set(input.memberIds ?? [])].filter((id) => id !== actor.userId);
  const max = kind === 'group' ? s.config.limits.groupMembers : s.config.limits.channelSubscribers;
  if (others.length + 1 > max) throw new AppError('member_limit_reached', `A ${kind} can have at most ${max} members`);
  const id = newId();
  const now = s.now();
  await change(s, async (tx, out) => {
    await requireUsers(tx, others);
    await checkChatLimit(s, tx, [actor.userId, ...others]);
    await insertChat(tx, { id, kind, title, owner_id: actor.userId, pair_key: null, created_at: now });
    await tx.updateTable('chats').set({ member_count: 1 }).where('id', '=', id).execute();
    await tx.insertInto('members').values({ chat_id: id, user_id: actor.userId, role: 'owner', joined_at: now, joined_seq: 0, read_seq: 0, hidden_seq: null, muted: 0 }).execute();
    await recordUserEvent(tx, out, actor.userId, { type: 'chat.joined', chatId: id, seq: 0 }, now);
    const role: MemberRole = kind === 'group' ? 'member' : 'subscriber';
    await addMemberRows(s, tx, out, id, others.map((u) => ({ id: u, role })), actor.userId, now);
  });
  return getChat(s, actor, id);
}

export function createGroup(s: Services, actor: Actor, input: { title: string; memberIds?: string[] }): Promise<Chat> {
  return createMultiChat(s, actor, 'group', input);
}

export function createChannel(s: Services, actor: Actor, input: { title: string; memberIds?: string[] }): Promise<Chat> {
  return createMultiChat(s, actor, 'channel', input);
}

export async function updateChat(s: Services, actor: Actor, chatId: string, input: { title?: string; muted?: boolean }): Promise<Chat> {
  const now = s.now();
  await change(s, async (tx, out) => {
    const m = await requireMember(s.db, tx, chatId, actor.userId, true);
    if (input.title !== undefined) {
      requireAdmin(m, 'rename the chat');
      const title = input.title.normalize('NFC').trim();
      if (title.length === 0) throw new AppError('invalid_request', 'The title must not be blank');
      await tx.updateTable('chats').set({ title }).where('id', '=', chatId).execute();
      await recordChatEvent(tx, out, { chatId, type: 'chat.updated', actorId: actor.userId, recipients: await memberIds(tx, chatId), data: { title } }, now);
    }
    if (input.muted !== undefined && (m.member.muted === 1) !== input.muted) {
      await tx.updateTable('members').set({ muted: input.muted ? 1 : 0 }).where('chat_id', '=', chatId).where('user_id', '=', actor.userId).execute();
      await recordUserEvent(tx, out, actor.userId, { type: 'chat.muted', chatId, muted: input.muted }, now);
    }
  });
  return getChat(s, actor, chatId);
}

/** Ends a chat for everyone in it: their logs say so, the rows go now or at the next cleanup. */
async function deleteForEveryone(tx: Tx, out: Outbox, chatId: string, now: number): Promise<void> {
  const members = await memberIds(tx, chatId);
  await tx.updateTable('chats').set({ deleted_at: now, pair_key: null, member_count: 0 }).where('id', '=', chatId).execute();
  await tx.deleteFrom('members').where('chat_id', '=', chatId).execute();
  for (const userId of members.sort()) await recordUserEvent(tx, out, userId, { type: 'chat.deleted', chatId }, now);
}

async function hideForMe(tx: Tx, out: Outbox, m: Membership, now: number): Promise<void> {
  await tx.updateTable('members').set({ hidden_seq: m.chat.last_seq }).where('chat_id', '=', m.chat.id).where('user_id', '=', m.member.user_id).execute();
  await recordUserEvent(tx, out, m.member.user_id, { type: 'chat.hidden', chatId: m.chat.id, seq: m.chat.last_seq }, now);
}

export async function deleteChat(s: Services, actor: Actor, chatId: string, forEveryone = false): Promise<void> {
  const now = s.now();
  await change(s, async (tx, out) => {
    const m = await requireMember(s.db, tx, chatId, actor.userId, true);
    if (m.chat.kind === 'self') throw new AppError('invalid_request', 'Saved messages cannot be deleted');
    if (m.chat.kind === 'private') {
      if (forEveryone) await deleteForEveryone(tx, out, chatId, now);
      else await hideForMe(tx, out, m, now);
      return;
    }
    if (m.member.role !== 'owner') throw new AppError('forbidden', `Only the owner can delete this ${m.chat.kind}`);
    await deleteForEveryone(tx, out, chatId, now);
  });
}

/** Takes a member out: a member.removed position in the chat (they receive it too) and chat.left in their log. */
async function removeMemberRow(tx: Tx, out: Outbox, chatId: string, userId: string, actorId: string | null, now: number): Promise<void> {
  const recipients = await memberIds(tx, chatId);
  await tx.deleteFrom('members').where('chat_id', '=', chatId).where('user_id', '=', userId).execute();
  await tx
    .updateTable('chats')
    .set((eb) => ({ member_count: eb('member_count', '-', 1) }))
    .where('id', '=', chatId)
    .execute();
  await recordChatEvent(tx, out, { chatId, type: 'member.removed', actorId, recipients, data: { member: { userId, role: null } } }, now);
  await recordUserEvent(tx, out, userId, { type: 'chat.left', chatId }, now);
}

export async function leaveChat(s: Services, actor: Actor, chatId: string): Promise<void> {
  const now = s.now();
  await change(s, async (tx, out) => {
    const m = await requireMember(s.db, tx, chatId, actor.userId, true);
    if (m.chat.kind === 'self') throw new AppError('invalid_request', 'Saved messages cannot be left');
    if (m.chat.kind === 'private') return hideForMe(tx, out, m, now);
    if (m.member.role === 'owner') {
      if (m.chat.member_count > 1) throw new AppError('invalid_request', 'The owner must hand over ownership before leaving');
      return deleteForEveryone(tx, out, chatId, now);
    }
    await removeMemberRow(tx, out, chatId, actor.userId, actor.userId, now);
  });
}

export async function listMembers(s: Services, actor: Actor, chatId: string): Promise<Member[]> {
  await requireMember(s.db, s.db.kysely, chatId, actor.userId);
  return loadMembers(s.db, chatId);
}

export async function addMembers(s: Services, actor: Actor, chatId: string, userIds: string[]): Promise<Member[]> {
  const now = s.now();
  const ids = [...new Set(userIds)];
  await change(s, async (tx, out) => {
    const m = await requireMember(s.db, tx, chatId, actor.userId, true);
    requireAdmin(m, 'add members');
    await requireUsers(tx, ids);
    const existing = await tx.selectFrom('members').select('user_id').where('chat_id', '=', chatId).where('user_id', 'in', ids).execute();
    if (existing.length > 0) throw new AppError('already_member', `User "${existing[0]!.user_id}" is already a member`);
    const max = m.chat.kind === 'group' ? s.config.limits.groupMembers : s.config.limits.channelSubscribers;
    if (m.chat.member_count + ids.length > max) throw new AppError('member_limit_reached', `A ${m.chat.kind} can have at most ${max} members`);
    await checkChatLimit(s, tx, ids);
    const role: MemberRole = m.chat.kind === 'group' ? 'member' : 'subscriber';
    await addMemberRows(s, tx, out, chatId, ids.map((id) => ({ id, role })), actor.userId, now);
  });
  return loadMembers(s.db, chatId, ids);
}

async function requireTarget(tx: Tx, chatId: string, userId: string): Promise<MembersTable> {
  const row = await tx.selectFrom('members').selectAll().where('chat_id', '=', chatId).where('user_id', '=', userId).executeTakeFirst();
  if (!row) throw new AppError('not_found', `User "${userId}" is not a member of this chat`);
  return row;
}

export async function removeMember(s: Services, actor: Actor, chatId: string, userId: string): Promise<void> {
  const now = s.now();
  await change(s, async (tx, out) => {
    const m = await requireMember(s.db, tx, chatId, actor.userId, true);
    requireAdmin(m, 'remove members');
    if (userId === actor.userId) throw new AppError('invalid_request', 'Use leaveChat to leave');
    const target = await requireTarget(tx, chatId, userId);
    if (target.role === 'owner') throw new AppError('forbidden', 'The owner cannot be removed');
    if (target.role === 'admin' && m.member.role !== 'owner') throw new AppError('forbidden', 'Only the owner can remove an admin');
    await removeMemberRow(tx, out, chatId, userId, actor.userId, now);
  });
}

async function setRole(tx: Tx, out: Outbox, chatId: string, userId: string, role: MemberRole, actorId: string | null, now: number): Promise<void> {
  await tx.updateTable('members').set({ role }).where('chat_id', '=', chatId).where('user_id', '=', userId).execute();
  await recordChatEvent(tx, out, { chatId, type: 'member.updated', actorId, recipients: await memberIds(tx, chatId), data: { member: { userId, role } } }, now);
}

export async function setMemberRole(s: Services, actor: Actor, chatId: string, userId: string, role: 'admin' | 'member'): Promise<Member> {
  const now = s.now();
  await change(s, async (tx, out) => {
    const m = await requireMember(s.db, tx, chatId, actor.userId, true);
    requireAdmin(m, 'change roles');
    if (m.member.role !== 'owner') throw new AppError('forbidden', 'Only the owner can change roles');
    const target = await requireTarget(tx, chatId, userId);
    if (target.role === 'owner') throw new AppError('invalid_request', 'Use transferOwnership to change the owner');
    const next: MemberRole = role === 'admin' ? 'admin' : m.chat.kind === 'channel' ? 'subscriber' : 'member';
    if (target.role !== next) await setRole(tx, out, chatId, userId, next, actor.userId, now);
  });
  const [member] = await loadMembers(s.db, chatId, [userId]);
  return member!;
}

export async function transferOwnership(s: Services, actor: Actor, chatId: string, userId: string): Promise<Chat> {
  const now = s.now();
  await change(s, async (tx, out) => {
    const m = await requireMember(s.db, tx, chatId, actor.userId, true);
    requireAdmin(m, 'change owners');
    if (m.member.role !== 'owner') throw new AppError('forbidden', 'Only the owner can hand over ownership');
    if (userId === actor.userId) throw new AppError('invalid_request', 'You already own this chat');
    await requireTarget(tx, chatId, userId);
    await tx.updateTable('chats').set({ owner_id: userId }).where('id', '=', chatId).execute();
    await setRole(tx, out, chatId, userId, 'owner', actor.userId, now);
    await setRole(tx, out, chatId, actor.userId, 'admin', actor.userId, now);
  });
  return getChat(s, actor, chatId);
}

/** When an account goes: saved messages go, other chats lose the member, owned chats pass on or end. */
export async function removeUserFromAllChats(s: Services, tx: Tx, out: Outbox, userId: string, now: number): Promise<void> {
  const memberships = await tx
    .selectFrom('members')
    .innerJoin('chats', 'chats.id', 'members.chat_id')
    .select(['chats.id', 'chats.kind', 'members.role'])
    .where('members.user_id', '=', userId)
    .orderBy('chats.id')
    .execute();
  for (const c of memberships) {
    await s.db.forUpdate(tx.selectFrom('chats').select('id').where('id', '=', c.id)).execute();
    if (c.kind === 'self') {
      await tx.deleteFrom('chats').where('id', '=', c.id).execute();
      continue;
    }
    if (c.role === 'owner') {
      const heir = await tx
        .selectFrom('members')
        .select(['user_id'])
        .where('chat_id', '=', c.id)
        .where('user_id', '!=', userId)
        .orderBy((eb) => eb.case().when('role', '=', 'admin').then(0).else(1).end())
        .orderBy('joined_at')
        .executeTakeFirst();
      if (!heir) {
        await deleteForEveryone(tx, out, c.id, now);
        continue;
      }
      await tx.updateTable('chats').set({ owner_id: heir.user_id }).where('id', '=', c.id).execute();
      await setRole(tx, out, c.id, heir.user_id, 'owner', null, now);
    }
    await removeMemberRow(tx, out, c.id, userId, null, now);
  }
}
