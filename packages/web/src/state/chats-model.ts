import { batch, computed, signal, type ReadonlySignal } from '@preact/signals';
import { createModel } from './create-model.ts';
import { ParleyError, type Chat, type ChatEvent, type Me, type ParleyClient, type User } from '@parley/sdk';
import { applyChatEvent, expireTyping, isMemberEvent, needsRefresh, type ChatsState } from './apply-chat-event.ts';
import type { PeopleModel } from './people-model.ts';

export function activity(c: Chat): number {
  return Date.parse(c.lastMessage?.createdAt ?? c.createdAt);
}

const TYPING_MS = 5000;

/** My chats, how far their members have read, who is typing, and which chat is open. */
/** How long a read mark that failed stays shown before it is taken back (and so tried again). */
const MARK_RETRY_MS = 1000;

export const ChatsModel = createModel((client: ParleyClient, people: PeopleModel, me: ReadonlySignal<Me | null>) => {
  const chatMap = signal<Record<string, Chat>>({});
  const readMarks = signal<ChatsState['readMarks']>({});
  const typing = signal<ChatsState['typing']>({});
  /** The open chat, which is read as messages arrive while the page is visible. */
  const openChatId = signal<string | null>(null);
  /** Bumped when a chat's members change, so an open member list reloads. */
  const membersChanged = signal(0);
  /** Chats by latest activity, newest first. */
  const chatList = computed(() => Object.values(chatMap.value).sort((a, b) => activity(b) - activity(a) || b.id.localeCompare(a.id)));
  /** Unread messages in the chats that are not muted: the tab's title shows it. */
  const unreadTotal = computed(() => chatList.value.reduce((n, c) => n + (c.muted ? 0 : c.unreadCount), 0));
  const refreshing = new Map<string, Promise<void>>();

  function update(chatId: string, fn: (c: Chat) => Chat): void {
    const c = chatMap.value[chatId];
    if (c) chatMap.value = { ...chatMap.value, [chatId]: fn(c) };
  }

  function remove(chatId: string): void {
    const { [chatId]: _gone, ...rest } = chatMap.value;
    chatMap.value = rest;
  }

  function refresh(chatId: string): Promise<void> {
    let p = refreshing.get(chatId);
    if (!p) {
      p = client
        .getChat({ chatId })
        .then((c) => {
          chatMap.value = { ...chatMap.value, [c.id]: c };
          if (c.peer) {
            if (!people.presence.value[c.peer.id]) people.fetchPresence([c.peer.id]);
            people.remember([c.peer]);
          }
        })
        .catch((err) => {
          if (err instanceof ParleyError && err.status === 404) remove(chatId);
        })
        .finally(() => refreshing.delete(chatId));
      refreshing.set(chatId, p);
    }
    return p;
  }

  return {
    chatMap,
    chatList,
    unreadTotal,
    readMarks,
    typing,
    openChatId,
    membersChanged,
    refresh,
    remove,
    async load() {
      const { chats } = await client.listChats();
      chatMap.value = Object.fromEntries(chats.map((c) => [c.id, c]));
      const peers = chats.flatMap((c) => (c.peer ? [c.peer] : []));
      people.remember(peers);
      people.fetchPresence(peers.map((p) => p.id));
    },
    applyEvent(e: ChatEvent) {
      const before: ChatsState = { chats: chatMap.value, readMarks: readMarks.value, typing: typing.value };
      const myId = me.value?.id;
      const stale = needsRefresh(before, e, myId);
      const after = applyChatEvent(before, e, myId);
      chatMap.value = after.chats;
      readMarks.value = after.readMarks;
      typing.value = after.typing;
      if (isMemberEvent(e)) membersChanged.value++;
      if (stale) void refresh(e.chatId);
    },
    /** Someone's new name or picture: the title and peer of my private chat with them follow it. */
    profileChanged(user: User) {
      for (const c of Object.values(chatMap.value)) {
        if (c.kind === 'private' && c.peer?.id === user.id) update(c.id, (x) => ({ ...x, title: user.displayName, peer: user }));
      }
    },
    setReadMarks(chatId: string, marks: Record<string, number>) {
      readMarks.value = { ...readMarks.value, [chatId]: marks };
    },
    typingStarted(chatId: string, userId: string) {
      typing.value = { ...typing.value, [chatId]: { ...typing.value[chatId], [userId]: Date.now() + TYPING_MS } };
      setTimeout(() => (typing.value = expireTyping(typing.value, Date.now())), TYPING_MS + 100);
    },
    /**
     * Shows the chat read up to `seq` at once, then what the server answered to `send`. A mark that
     * did not reach the server (the socket closed under it) is taken back after a moment, so the open
     * chat marks itself read again instead of keeping a position the server never got.
     */
    markRead(chatId: string, seq: number, send: (chatId: string, seq: number) => Promise<{ readSeq: number; unreadCount: number }>) {
      const chat = chatMap.value[chatId];
      if (!chat || seq <= chat.readSeq) return;
      const before = { readSeq: chat.readSeq, unreadCount: chat.unreadCount };
      update(chatId, (c) => ({ ...c, readSeq: seq, unreadCount: seq >= (c.lastMessage?.seq ?? 0) ? 0 : c.unreadCount }));
      send(chatId, seq)
        .then((r) => update(chatId, (c) => ({ ...c, readSeq: Math.max(c.readSeq, r.readSeq), unreadCount: r.unreadCount })))
        .catch(() =>
          setTimeout(
            () => update(chatId, (c) => (c.readSeq === seq ? { ...c, readSeq: before.readSeq, unreadCount: Math.max(c.unreadCount, before.unreadCount) } : c)),
            MARK_RETRY_MS,
          ),
        );
    },
    reset() {
      batch(() => {
        chatMap.value = {};
        readMarks.value = {};
        typing.value = {};
        openChatId.value = null;
      });
    },
  };
});
export type ChatsModel = InstanceType<typeof ChatsModel>;
