import type { Chat, Member } from '@parley/protocol';
import type { Actor, Services } from '../services.ts';
import { toUser } from '../accounts/views.ts';
import { toMessage } from '../sync/views.ts';
import { chatNotFound, requireMember } from './access.ts';
import { chatListRows, lastMessages, memberListRows, privatePeers, unreadCounts, unreadMentionCounts } from './chats.store.ts';
import { toChat, toMember } from './views.ts';

/**
 * My chats as I see them (title, peer, last message, unread count), in a fixed number of queries
 * whatever the number of chats. `chatIds` narrows it to some chats; chats I deleted for myself
 * are left out unless `includeHidden`.
 */
export async function loadChats(s: Services, options: { userId: string; chatIds?: string[]; includeHidden?: boolean }): Promise<Chat[]> {
  const { userId, chatIds, includeHidden = false } = options;
  if (chatIds?.length === 0) return [];
  const db = s.db.kysely;
  const rows = await chatListRows(db, { userId, chatIds });
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const last = await lastMessages(db, ids);
  const unread = await unreadCounts(db, { userId, chatIds: ids });
  const groups = rows.filter((r) => r.kind === 'group').map((r) => r.id);
  const mentions = groups.length > 0 ? await unreadMentionCounts(db, { userId, chatIds: groups }) : new Map<string, number>();
  const peers = await privatePeers(db, { userId, chatIds: rows.filter((r) => r.kind === 'private').map((r) => r.id) });
  const chats: Chat[] = [];
  for (const r of rows) {
    const lastMessage = last.get(r.id);
    // A chat I deleted for myself stays out of my list until a newer message arrives.
    if (!includeHidden && r.hidden_seq !== null && (!lastMessage || Number(lastMessage.seq) <= Number(r.hidden_seq))) continue;
    const peer = peers.get(r.id);
    chats.push(
      toChat(r, {
        lastMessage: lastMessage ? toMessage(lastMessage) : null,
        unreadCount: unread.get(r.id) ?? 0,
        unreadMentions: mentions.get(r.id),
        ...(peer ? { peer: toUser(peer) } : {}),
      }),
    );
  }
  return chats.sort((a, b) => activity(b) - activity(a) || (a.id < b.id ? -1 : 1));
}

function activity(c: Chat): number {
  return Date.parse(c.lastMessage?.createdAt ?? c.createdAt);
}

export async function getChat(s: Services, actor: Actor, chatId: string): Promise<Chat> {
  const [chat] = await loadChats(s, { userId: actor.userId, chatIds: [chatId], includeHidden: true });
  if (!chat) throw chatNotFound(chatId);
  return chat;
}

export async function listChats(s: Services, actor: Actor): Promise<Chat[]> {
  return loadChats(s, { userId: actor.userId });
}

/** A chat's members (or some of them) in the order they joined. */
export async function loadMembers(s: Services, options: { chatId: string; userIds?: string[] }): Promise<Member[]> {
  return (await memberListRows(s.db.kysely, options)).map(toMember);
}

export async function listMembers(s: Services, actor: Actor, chatId: string): Promise<Member[]> {
  const m = await requireMember(s.db.kysely, { chatId, userId: actor.userId });
  const members = await loadMembers(s, { chatId });
  // A channel's audience is for its admins to see: a subscriber sees who runs it, and themselves.
  if (m.chat.kind === 'channel' && m.member.role === 'subscriber') return members.filter((x) => x.role !== 'subscriber' || x.user.id === actor.userId);
  return members;
}
