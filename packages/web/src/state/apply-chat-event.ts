import type { Chat, ChatEvent } from '@parley/sdk';

/** What the chat list knows, as plain data: chats by id, who read how far, who is typing where. */
export interface ChatsState {
  chats: Record<string, Chat>;
  /** Chat id → user id → the position that member has read up to. */
  readMarks: Record<string, Record<string, number>>;
  /** Chat id → user id → when their "typing" expires (ms since the epoch). */
  typing: Record<string, Record<string, number>>;
}

export const EMPTY_CHATS: ChatsState = { chats: {}, readMarks: {}, typing: {} };

/**
 * A chat event applied to the chat list; unchanged parts keep their identity. Changes the event
 * does not carry (new members, a chat not loaded yet) are for `needsRefresh` to tell.
 */
export function applyChatEvent(state: ChatsState, e: ChatEvent, myId: string | undefined): ChatsState {
  const chat = state.chats[e.chatId];
  if (!chat) return state;
  const next: Chat = { ...chat, lastSeq: Math.max(chat.lastSeq, e.seq) };
  let { readMarks, typing } = state;
  switch (e.type) {
    case 'message.created': {
      const m = e.message;
      if (!m) break;
      next.lastMessage = m;
      // My own message is never unread, and it does not move my read position either: the server
      // keeps that where I last read, so what came before it stays unread until it is marked read.
      if (m.senderId !== myId && m.seq > next.readSeq && e.actorId !== myId) {
        next.unreadCount = chat.unreadCount + 1;
        if (myId && m.mentions?.includes(myId)) next.unreadMentions = (chat.unreadMentions ?? 0) + 1;
      }
      // A message ends its sender's "typing".
      const typers = typing[e.chatId];
      if (typers?.[m.senderId]) {
        const { [m.senderId]: _gone, ...rest } = typers;
        typing = { ...typing, [e.chatId]: rest };
      }
      break;
    }
    case 'message.edited':
    case 'message.deleted':
      if (e.message && chat.lastMessage?.id === e.message.id) next.lastMessage = e.message;
      break;
    case 'chat.updated':
      if (e.title !== undefined) next.title = e.title;
      if (e.avatarFileId !== undefined) next.avatarFileId = e.avatarFileId;
      break;
    case 'read.updated':
      if (e.read) readMarks = { ...readMarks, [e.chatId]: { ...readMarks[e.chatId], [e.read.userId]: e.read.seq } };
      break;
  }
  return { chats: { ...state.chats, [e.chatId]: next }, readMarks, typing };
}

/** Whether the chat must be fetched again after this event: it is new here, its members changed, or I read it elsewhere. */
export function needsRefresh(state: ChatsState, e: ChatEvent, myId: string | undefined): boolean {
  const chat = state.chats[e.chatId];
  if (!chat) return true;
  if (isMemberEvent(e)) return true;
  return e.type === 'read.updated' && !!e.read && e.read.userId === myId && e.read.seq > chat.readSeq;
}

export function isMemberEvent(e: ChatEvent): boolean {
  return e.type === 'member.added' || e.type === 'member.removed' || e.type === 'member.updated';
}

/** Typing marks still alive at `now`; chats nobody types in any more are dropped. */
export function expireTyping(typing: ChatsState['typing'], now: number): ChatsState['typing'] {
  const next: ChatsState['typing'] = {};
  for (const [chatId, who] of Object.entries(typing)) {
    const alive = Object.fromEntries(Object.entries(who).filter(([, until]) => until > now));
    if (Object.keys(alive).length) next[chatId] = alive;
  }
  return next;
}
