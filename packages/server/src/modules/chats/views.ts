import type { Chat, Member, Role } from '@parley/protocol';
import type { Database } from '../../adapters/db/database.ts';
import type { MessagesTable } from '../../adapters/db/schema.ts';
import { toMessage } from '../messages/views.ts';
import { iso } from '../sessions/views.ts';
import { toUser } from '../accounts/views.ts';

export const SAVED_MESSAGES = 'Saved messages';

/**
 * My chats as I see them (title, peer, last message, unread count), in a fixed number of queries
 * whatever the number of chats. `chatIds` narrows it to some chats; chats I deleted for myself
 * are left out unless `includeHidden`.
 */
export async function loadChatViews(db: Database, userId: string, options: { chatIds?: string[]; includeHidden?: boolean } = {}): Promise<Chat[]> {
  const { chatIds, includeHidden = false } = options;
  const k = db.kysely;
  let q = k
    .selectFrom('members')
    .innerJoin('chats', 'chats.id', 'members.chat_id')
    .select(['chats.id', 'chats.kind', 'chats.title', 'chats.owner_id', 'chats.member_count', 'chats.last_seq', 'chats.created_at'])
    .select(['members.role', 'members.read_seq', 'members.hidden_seq', 'members.muted'])
    .where('members.user_id', '=', userId)
    .where('chats.deleted_at', 'is', null);
  if (chatIds) {
    if (chatIds.length === 0) return [];
    q = q.where('chats.id', 'in', chatIds);
  }
  const rows = await q.execute();
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);

  const lastRows = await k
    .selectFrom('messages')
    .innerJoin(
      (eb) => eb.selectFrom('messages').select(['chat_id', (e) => e.fn.max('seq').as('max_seq')]).where('chat_id', 'in', ids).groupBy('chat_id').as('latest'),
      (join) => join.onRef('latest.chat_id', '=', 'messages.chat_id').onRef('latest.max_seq', '=', 'messages.seq'),
    )
    .selectAll('messages')
    .execute();
  const last = new Map<string, MessagesTable>(lastRows.map((m) => [m.chat_id, m as MessagesTable]));

  const unreadRows = await k
    .selectFrom('messages')
    .innerJoin('members', (join) => join.onRef('members.chat_id', '=', 'messages.chat_id').on('members.user_id', '=', userId))
    .select(['messages.chat_id', (e) => e.fn.countAll<number>().as('n')])
    .where('messages.chat_id', 'in', ids)
    .whereRef('messages.seq', '>', 'members.read_seq')
    .where('messages.sender_id', '!=', userId)
    .where('messages.deleted_at', 'is', null)
    .where((eb) => eb.or([eb('members.hidden_seq', 'is', null), eb('messages.seq', '>', eb.ref('members.hidden_seq'))]))
    .groupBy('messages.chat_id')
    .execute();
  const unread = new Map(unreadRows.map((r) => [r.chat_id, Number(r.n)]));

  const privateIds = rows.filter((r) => r.kind === 'private').map((r) => r.id);
  const peers = new Map<string, ReturnType<typeof toUser>>();
  if (privateIds.length > 0) {
    const peerRows = await k
      .selectFrom('members')
      .innerJoin('users', 'users.id', 'members.user_id')
      .select(['members.chat_id', 'users.id', 'users.username', 'users.display_name', 'users.deleted_at'])
      .where('members.chat_id', 'in', privateIds)
      .where('members.user_id', '!=', userId)
      .execute();
    for (const p of peerRows) peers.set(p.chat_id, toUser(p));
  }

  const chats: Chat[] = [];
  for (const r of rows) {
    const lastMessage = last.get(r.id) ?? null;
    const hidden = r.hidden_seq === null ? null : Number(r.hidden_seq);
    // A chat I deleted for myself stays out of my list until a newer message arrives.
    if (!includeHidden && hidden !== null && (!lastMessage || Number(lastMessage.seq) <= hidden)) continue;
    const peer = peers.get(r.id);
    chats.push({
      id: r.id,
      kind: r.kind,
      title: r.kind === 'self' ? SAVED_MESSAGES : r.kind === 'private' ? (peer?.displayName ?? 'Deleted account') : (r.title ?? ''),
      ...(r.kind === 'private' ? { peer: peer ?? { id: 'deleted', username: null, displayName: 'Deleted account', deleted: true } } : {}),
      ownerId: r.owner_id,
      role: r.role as Role,
      memberCount: r.member_count,
      lastSeq: Number(r.last_seq),
      lastMessage: lastMessage ? toMessage(lastMessage) : null,
      readSeq: Number(r.read_seq),
      unreadCount: unread.get(r.id) ?? 0,
      muted: r.muted === 1,
      createdAt: iso(r.created_at),
    });
  }
  chats.sort((a, b) => activity(b) - activity(a) || (a.id < b.id ? -1 : 1));
  return chats;
}

function activity(c: Chat): number {
  return Date.parse(c.lastMessage?.createdAt ?? c.createdAt);
}

export async function loadMembers(db: Database, chatId: string, userIds?: string[]): Promise<Member[]> {
  let q = db.kysely
    .selectFrom('members')
    .innerJoin('users', 'users.id', 'members.user_id')
    .select(['users.id', 'users.username', 'users.display_name', 'users.deleted_at', 'members.role', 'members.joined_at', 'members.read_seq'])
    .where('members.chat_id', '=', chatId)
    .orderBy('members.joined_at')
    .orderBy('users.id');
  if (userIds) q = q.where('members.user_id', 'in', userIds);
  const rows = await q.execute();
  return rows.map((r) => ({ user: toUser(r), role: r.role as Role, joinedAt: iso(r.joined_at), readSeq: Number(r.read_seq) }));
}
