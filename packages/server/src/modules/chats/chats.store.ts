import type { Kysely } from 'kysely';
import { forUpdate, type Tx } from '../../adapters/db/database.ts';
import { precompiled } from '../../adapters/db/precompiled.ts';
import type { ChatsTable, DB, MembersTable, MessagesTable, UsersTable } from '../../adapters/db/schema.ts';

export type MemberRole = MembersTable['role'];

export interface Membership {
  chat: ChatsTable;
  member: MembersTable;
}

/** Takes the chat row lock (PostgreSQL): changes to one chat's members then run one at a time. SQLite needs none. */
export async function lockChat(tx: Tx, chatId: string): Promise<void> {
  await forUpdate(tx, tx.selectFrom('chats').select('id').where('id', '=', chatId)).execute();
}

/** The chat (not deleted) and the user's membership of it. */
export async function findMembership(db: Kysely<DB>, options: { chatId: string; userId: string }): Promise<Membership | undefined> {
  const row = await db
    .selectFrom('members')
    .innerJoin('chats', 'chats.id', 'members.chat_id')
    .selectAll('chats')
    .select(['members.user_id', 'members.role', 'members.joined_at', 'members.joined_seq', 'members.read_seq', 'members.hidden_seq', 'members.muted'])
    .where('members.chat_id', '=', options.chatId)
    .where('members.user_id', '=', options.userId)
    .where('chats.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  const { user_id, role, joined_at, joined_seq, read_seq, hidden_seq, muted, ...chat } = row;
  return {
    chat: { ...chat, last_seq: Number(chat.last_seq) },
    member: { chat_id: options.chatId, user_id, role, joined_at, joined_seq: Number(joined_seq), read_seq: Number(read_seq), hidden_seq, muted },
  };
}

export async function findMember(db: Kysely<DB>, options: { chatId: string; userId: string }): Promise<MembersTable | undefined> {
  return db.selectFrom('members').selectAll().where('chat_id', '=', options.chatId).where('user_id', '=', options.userId).executeTakeFirst();
}

// Read from the primary key index alone; on the send path, for every message.
const memberRows = precompiled((db, chatId: string) => db.selectFrom('members').select('user_id').where('chat_id', '=', chatId));

export async function memberIds(db: Kysely<DB>, chatId: string): Promise<string[]> {
  return (await memberRows(db, chatId)).map((r) => r.user_id);
}

// Roles matter only in channels, so they are read there apart from the member list.
const roleRows = precompiled((db, chatId: string, userId: string) =>
  db.selectFrom('members').select('role').where('chat_id', '=', chatId).where('user_id', '=', userId),
);

export async function roleIn(db: Kysely<DB>, options: { chatId: string; userId: string }): Promise<MemberRole | undefined> {
  return (await roleRows(db, options.chatId, options.userId))[0]?.role;
}

/** Of these users, those already members. */
export async function existingMembers(tx: Tx, options: { chatId: string; userIds: string[] }): Promise<string[]> {
  const rows = await tx.selectFrom('members').select('user_id').where('chat_id', '=', options.chatId).where('user_id', 'in', options.userIds).execute();
  return rows.map((r) => r.user_id);
}

/** Locks user rows in id order (PostgreSQL), so limits per user hold under concurrency without deadlocks. */
export async function lockUsers(tx: Tx, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  await forUpdate(tx, tx.selectFrom('users').select('id').where('id', 'in', userIds).orderBy('id')).execute();
}

/** How many chats each of these users is in (users in none are left out). */
export async function chatCounts(tx: Tx, userIds: string[]): Promise<{ userId: string; chats: number }[]> {
  const rows = await tx
    .selectFrom('members')
    .select(['user_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('user_id', 'in', userIds)
    .groupBy('user_id')
    .execute();
  return rows.map((r) => ({ userId: r.user_id, chats: Number(r.n) }));
}

/** Of these users, those with an account that is not deleted. */
export async function activeUserIds(tx: Tx, userIds: string[]): Promise<Set<string>> {
  const rows = await tx.selectFrom('users').select('id').where('id', 'in', userIds).where('deleted_at', 'is', null).execute();
  return new Set(rows.map((r) => r.id));
}

export async function findChatIdByPairKey(db: Kysely<DB>, pairKey: string): Promise<string | undefined> {
  return (await db.selectFrom('chats').select('id').where('pair_key', '=', pairKey).executeTakeFirst())?.id;
}

/** A new chat with its first members counted in. */
export async function insertChat(tx: Tx, chat: Omit<ChatsTable, 'last_seq' | 'deleted_at' | 'avatar_file_id'>): Promise<void> {
  await tx
    .insertInto('chats')
    .values({ ...chat, last_seq: 0, deleted_at: null, avatar_file_id: null })
    .execute();
}

export async function addToMemberCount(tx: Tx, options: { chatId: string; by: number }): Promise<void> {
  await tx
    .updateTable('chats')
    .set((eb) => ({ member_count: eb('member_count', '+', options.by) }))
    .where('id', '=', options.chatId)
    .execute();
}

/** A member row for someone joining at position `seq` (they have read up to it). */
/** Inserts members in chunks, for adding many at once. */
export async function insertMembers(tx: Tx, members: { chatId: string; userId: string; role: MemberRole; joinedAt: number; seq: number }[]): Promise<void> {
  for (let i = 0; i < members.length; i += 200) {
    await tx
      .insertInto('members')
      .values(
        members.slice(i, i + 200).map((m) => ({
          chat_id: m.chatId,
          user_id: m.userId,
          role: m.role,
          joined_at: m.joinedAt,
          joined_seq: m.seq,
          read_seq: m.seq,
          hidden_seq: null,
          muted: 0,
        })),
      )
      .execute();
  }
}

export async function insertMember(tx: Tx, member: { chatId: string; userId: string; role: MemberRole; joinedAt: number; seq: number }): Promise<void> {
  await tx
    .insertInto('members')
    .values({
      chat_id: member.chatId,
      user_id: member.userId,
      role: member.role,
      joined_at: member.joinedAt,
      joined_seq: member.seq,
      read_seq: member.seq,
      hidden_seq: null,
      muted: 0,
    })
    .execute();
}

export async function deleteMember(tx: Tx, options: { chatId: string; userId: string }): Promise<void> {
  await tx.deleteFrom('members').where('chat_id', '=', options.chatId).where('user_id', '=', options.userId).execute();
}

export async function setRole(tx: Tx, member: { chatId: string; userId: string; role: MemberRole }): Promise<void> {
  await tx.updateTable('members').set({ role: member.role }).where('chat_id', '=', member.chatId).where('user_id', '=', member.userId).execute();
}

export async function setOwner(tx: Tx, options: { chatId: string; userId: string }): Promise<void> {
  await tx.updateTable('chats').set({ owner_id: options.userId }).where('id', '=', options.chatId).execute();
}

export async function setTitle(tx: Tx, options: { chatId: string; title: string }): Promise<void> {
  await tx.updateTable('chats').set({ title: options.title }).where('id', '=', options.chatId).execute();
}

export async function setMuted(tx: Tx, options: { chatId: string; userId: string; muted: boolean }): Promise<void> {
  await tx
    .updateTable('members')
    .set({ muted: options.muted ? 1 : 0 })
    .where('chat_id', '=', options.chatId)
    .where('user_id', '=', options.userId)
    .execute();
}

export async function setHiddenSeq(tx: Tx, options: { chatId: string; userId: string; seq: number }): Promise<void> {
  await tx.updateTable('members').set({ hidden_seq: options.seq }).where('chat_id', '=', options.chatId).where('user_id', '=', options.userId).execute();
}

/** Marks the chat deleted and takes everyone out (the rows go at the next cleanup). */
export async function markDeleted(tx: Tx, options: { chatId: string; at: number }): Promise<void> {
  await tx.updateTable('chats').set({ deleted_at: options.at, pair_key: null, member_count: 0 }).where('id', '=', options.chatId).execute();
  await tx.deleteFrom('members').where('chat_id', '=', options.chatId).execute();
}

/** Every chat a user is in, in id order, with their role there. */
export async function membershipsOf(tx: Tx, userId: string): Promise<{ id: string; kind: ChatsTable['kind']; role: MemberRole }[]> {
  return tx
    .selectFrom('members')
    .innerJoin('chats', 'chats.id', 'members.chat_id')
    .select(['chats.id', 'chats.kind', 'members.role'])
    .where('members.user_id', '=', userId)
    .orderBy('chats.id')
    .execute();
}

/** Who inherits a chat from its owner: the longest-standing admin, else the longest-standing member. */
export async function findHeir(tx: Tx, options: { chatId: string; ownerId: string }): Promise<string | undefined> {
  const row = await tx
    .selectFrom('members')
    .select(['user_id'])
    .where('chat_id', '=', options.chatId)
    .where('user_id', '!=', options.ownerId)
    .orderBy((eb) => eb.case().when('role', '=', 'admin').then(0).else(1).end())
    .orderBy('joined_at')
    .executeTakeFirst();
  return row?.user_id;
}

// What the chat list shows.

export interface ChatListRow {
  id: string;
  kind: ChatsTable['kind'];
  title: string | null;
  owner_id: string | null;
  member_count: number;
  last_seq: number;
  created_at: number;
  role: MemberRole;
  read_seq: number;
  hidden_seq: number | null;
  muted: number;
  avatar_file_id: string | null;
  e2ee?: number;
}

/** The chats a user is in (or some of them), with the user's membership of each. */
export async function chatListRows(db: Kysely<DB>, options: { userId: string; chatIds?: string[] }): Promise<ChatListRow[]> {
  let q = db
    .selectFrom('members')
    .innerJoin('chats', 'chats.id', 'members.chat_id')
    .select([
      'chats.id',
      'chats.kind',
      'chats.title',
      'chats.owner_id',
      'chats.member_count',
      'chats.last_seq',
      'chats.created_at',
      'chats.avatar_file_id',
      'chats.e2ee',
    ])
    .select(['members.role', 'members.read_seq', 'members.hidden_seq', 'members.muted'])
    .where('members.user_id', '=', options.userId)
    .where('chats.deleted_at', 'is', null);
  if (options.chatIds) q = q.where('chats.id', 'in', options.chatIds);
  return q.execute();
}

/** The latest message of each of these chats. */
export async function lastMessages(db: Kysely<DB>, chatIds: string[]): Promise<Map<string, MessagesTable>> {
  const rows = await db
    .selectFrom('messages')
    .innerJoin(
      (eb) =>
        eb
          .selectFrom('messages')
          .select(['chat_id', (e) => e.fn.max('seq').as('max_seq')])
          .where('chat_id', 'in', chatIds)
          .groupBy('chat_id')
          .as('latest'),
      (join) => join.onRef('latest.chat_id', '=', 'messages.chat_id').onRef('latest.max_seq', '=', 'messages.seq'),
    )
    .selectAll('messages')
    .execute();
  return new Map(rows.map((m) => [m.chat_id, m as MessagesTable]));
}

/** Messages from others after the user's read position (and after what they deleted for themselves), per chat. */
export async function unreadCounts(db: Kysely<DB>, options: { userId: string; chatIds: string[] }): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('messages')
    .innerJoin('members', (join) => join.onRef('members.chat_id', '=', 'messages.chat_id').on('members.user_id', '=', options.userId))
    .select(['messages.chat_id', (e) => e.fn.countAll<number>().as('n')])
    .where('messages.chat_id', 'in', options.chatIds)
    .whereRef('messages.seq', '>', 'members.read_seq')
    .where('messages.sender_id', '!=', options.userId)
    .where('messages.deleted_at', 'is', null)
    .where((eb) => eb.or([eb('members.hidden_seq', 'is', null), eb('messages.seq', '>', eb.ref('members.hidden_seq'))]))
    .groupBy('messages.chat_id')
    .execute();
  return new Map(rows.map((r) => [r.chat_id, Number(r.n)]));
}

/** Of those unread messages, the ones that @mention the user, per chat (none listed: none). */
export async function unreadMentionCounts(db: Kysely<DB>, options: { userId: string; chatIds: string[] }): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('messages')
    .innerJoin('members', (join) => join.onRef('members.chat_id', '=', 'messages.chat_id').on('members.user_id', '=', options.userId))
    .select(['messages.chat_id', (e) => e.fn.countAll<number>().as('n')])
    .where('messages.chat_id', 'in', options.chatIds)
    .whereRef('messages.seq', '>', 'members.read_seq')
    .where('messages.deleted_at', 'is', null)
    // The column is a JSON array of ids; an id is quoted in it.
    .where('messages.mentions', 'like', `%"${options.userId}"%`)
    .where((eb) => eb.or([eb('members.hidden_seq', 'is', null), eb('messages.seq', '>', eb.ref('members.hidden_seq'))]))
    .groupBy('messages.chat_id')
    .execute();
  return new Map(rows.map((r) => [r.chat_id, Number(r.n)]));
}

export type UserNameRow = Pick<UsersTable, 'id' | 'username' | 'display_name' | 'deleted_at' | 'avatar_file_id'>;

/** The other member of each of these private chats. */
export async function privatePeers(db: Kysely<DB>, options: { userId: string; chatIds: string[] }): Promise<Map<string, UserNameRow>> {
  if (options.chatIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('members')
    .innerJoin('users', 'users.id', 'members.user_id')
    .select(['members.chat_id', 'users.id', 'users.username', 'users.display_name', 'users.deleted_at', 'users.avatar_file_id'])
    .where('members.chat_id', 'in', options.chatIds)
    .where('members.user_id', '!=', options.userId)
    .execute();
  return new Map(rows.map(({ chat_id, ...user }) => [chat_id, user]));
}

export type MemberListRow = UserNameRow & Pick<MembersTable, 'role' | 'joined_at' | 'read_seq'>;

/** A chat's members (or some of them) in the order they joined. */
export async function memberListRows(db: Kysely<DB>, options: { chatId: string; userIds?: string[] }): Promise<MemberListRow[]> {
  let q = db
    .selectFrom('members')
    .innerJoin('users', 'users.id', 'members.user_id')
    .select([
      'users.id',
      'users.username',
      'users.display_name',
      'users.deleted_at',
      'users.avatar_file_id',
      'members.role',
      'members.joined_at',
      'members.read_seq',
    ])
    .where('members.chat_id', '=', options.chatId)
    .orderBy('members.joined_at')
    .orderBy('users.id');
  if (options.userIds) q = q.where('members.user_id', 'in', options.userIds);
  return q.execute();
}
