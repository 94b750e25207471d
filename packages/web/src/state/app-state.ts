import { batch, computed, signal } from '@preact/signals';
import {
  ParleyClient,
  ParleyError,
  ParleyRealtime,
  type Chat,
  type ChatEvent,
  type Me,
  type PendingMessage,
  type Presence,
  type SessionTokens,
  type SyncCursor,
  type SyncEvent,
  type User,
  type UserEvent,
} from '@parley/sdk';
import { storage, deviceName } from './storage.ts';
import { applyChatEvent, expireTyping, isMemberEvent, needsRefresh } from './apply-chat-event.ts';
import { timelines, applyMessageEvent, resetTimelines, addSentMessage } from './timeline.ts';

export type Connection = 'connecting' | 'online' | 'offline';

export const auth = signal<'loading' | 'signed-out' | 'signed-in'>('loading');
export const me = signal<Me | null>(null);
export const chatMap = signal<Record<string, Chat>>({});
export const connection = signal<Connection>('connecting');
export const presence = signal<Record<string, Presence>>({});
export const typing = signal<Record<string, Record<string, number>>>({});
export const outbox = signal<PendingMessage[]>([]);
export const users = signal<Record<string, User>>({});
/** Chat id → user id → the position that member has read up to. */
export const readMarks = signal<Record<string, Record<string, number>>>({});
/** The open chat, which is read as messages arrive while the page is visible. */
export const openChatId = signal<string | null>(null);
export const notice = signal<string | null>(null);
/** Why the user was signed out, shown on the login screen. */
export const signOutReason = signal<string | null>(null);

/** Chats by latest activity, newest first. */
export const chatList = computed(() => Object.values(chatMap.value).sort((a, b) => activity(b) - activity(a) || b.id.localeCompare(a.id)));

export function activity(c: Chat): number {
  return Date.parse(c.lastMessage?.createdAt ?? c.createdAt);
}

export const client = new ParleyClient({
  baseUrl: location.origin,
  session: storage.session(),
  onSession: onSessionChange,
  // Tabs share the session: one refreshes at a time, and the others then take its new tokens.
  exclusive: (fn) => (navigator.locks ? (navigator.locks.request('parley-session-refresh', fn) as ReturnType<typeof fn>) : fn()),
  loadSession: () => storage.session(),
});
let rt: ParleyRealtime | null = null;
let refreshTimer: ReturnType<typeof setInterval> | null = null;

export function realtime(): ParleyRealtime | null {
  return rt;
}

function onSessionChange(session: SessionTokens | null): void {
  storage.setSession(session);
  if (session) storage.setDeviceSessionId(session.sessionId);
  else if (auth.value === 'signed-in') signedOut('Your session ended. Sign in again.');
}

// Another tab rotated the tokens: use the new ones, or the refresh token would count as reused.
addEventListener('storage', (e) => {
  if (!storage.isSessionKey(e.key)) return;
  const next = storage.session();
  if (next?.accessToken !== client.session?.accessToken) {
    if (next) client.setSession(next);
    else if (auth.value === 'signed-in') signedOut('You signed out in another tab.');
  }
});

export function showNotice(err: unknown): void {
  notice.value = err instanceof Error ? err.message : String(err);
}

export async function signIn(input: { username: string; password: string }): Promise<void> {
  const sessionId = storage.deviceSessionId() ?? undefined;
  await client.login({ ...input, deviceName: deviceName(), ...(sessionId ? { sessionId } : {}) });
  signOutReason.value = null;
  await start();
}

export async function registerAndSignIn(input: { inviteCode: string; username: string; password: string; displayName: string }): Promise<void> {
  await client.register(input);
  await signIn({ username: input.username, password: input.password });
}

/** Loads the account and chats, then keeps them live over the socket. */
export async function start(): Promise<void> {
  if (!client.session) {
    auth.value = 'signed-out';
    return;
  }
  let account: Me;
  for (;;) {
    try {
      account = await client.getMe();
      break;
    } catch (err) {
      if (err instanceof ParleyError && err.status === 401) return signedOut(null);
      // Offline at load: keep the session and try again.
      connection.value = 'offline';
      await new Promise((r) => setTimeout(r, 3000));
      if (!client.session) return signedOut(null);
    }
  }
  me.value = account;
  await loadChats();
  auth.value = 'signed-in';
  connect(account.id);
  refreshTimer ??= setInterval(() => void client.ensureFresh(120_000).catch(() => {}), 30_000);
}

export async function loadChats(): Promise<void> {
  const { chats } = await client.listChats();
  const map: Record<string, Chat> = {};
  for (const c of chats) map[c.id] = c;
  chatMap.value = map;
  const peers = chats.map((c) => c.peer).filter((p): p is User => !!p);
  rememberUsers(peers);
  fetchPresence(peers.map((p) => p.id));
}

function fetchPresence(userIds: string[]): void {
  if (userIds.length === 0) return;
  client
    .getPresence({ userIds: [...new Set(userIds)].slice(0, 500) })
    .then(({ presence: list }) => (presence.value = { ...presence.value, ...Object.fromEntries(list.map((p) => [p.userId, p])) }))
    .catch(() => {});
}

let offs: (() => void)[] = [];
/** The cursor of the socket that was dropped when the network went away, to resume from. */
let resumeFrom: SyncCursor | null = null;

function connect(userId: string, cursor?: SyncCursor): void {
  const chats = Object.fromEntries(Object.values(chatMap.value).map((c) => [c.id, c.lastSeq]));
  const r = new ParleyRealtime(client, { cursor: cursor ?? { userSeq: storage.userSeq(userId), chats } });
  rt = r;
  offs = [
    r.on('state', (s) => {
      if (s === 'ended') return signedOut('This session was ended. Sign in again.');
      connection.value = navigator.onLine ? s : 'offline';
    }),
    r.on('event', onEvent),
    r.on('cursor', (c) => storage.setUserSeq(userId, c.userSeq)),
    r.on('presence', (p) => (presence.value = { ...presence.value, [p.userId]: p })),
    r.on('typing', ({ chatId, userId: who }) => {
      typing.value = { ...typing.value, [chatId]: { ...typing.value[chatId], [who]: Date.now() + 5000 } };
      setTimeout(expireTypingNow, 5100);
    }),
    r.on('outbox', (p) => {
      if (p.state === 'sent' && p.message) addSentMessage(p.message);
      outbox.value = [...outbox.value.filter((o) => o.clientMessageId !== p.clientMessageId), ...(p.state === 'sent' ? [] : [p])];
      storage.setOutbox(userId, outbox.value);
    }),
  ];
  // Messages queued before a reload (or a dropped socket) go out again with the same ids, so they cannot be duplicated.
  for (const p of storage.outbox(userId)) r.send({ chatId: p.chatId, text: p.text, replyToId: p.replyToId, clientMessageId: p.clientMessageId });
  void r.connect();
}

function disconnect(): void {
  for (const off of offs) off();
  offs = [];
  rt?.close();
  rt = null;
}

// The browser knows first when the network goes: drop the socket then, and reconnect (and resync)
// when it is back. A fresh client picks up the cursor, so nothing half-done on the old socket lingers.
addEventListener('offline', () => {
  if (!rt) return;
  connection.value = 'offline';
  resumeFrom = rt.cursor;
  disconnect();
});
addEventListener('online', () => {
  const userId = me.value?.id;
  if (rt || !userId || auth.value !== 'signed-in') return;
  connection.value = 'connecting';
  connect(userId, resumeFrom ?? undefined);
  resumeFrom = null;
});

function expireTypingNow(): void {
  typing.value = expireTyping(typing.value, Date.now());
}

function onEvent(e: SyncEvent): void {
  if (e.log === 'user') return onUserEvent(e);
  onChatEvent(e);
}

function onChatEvent(e: ChatEvent): void {
  applyMessageEvent(e);
  const before = { chats: chatMap.value, readMarks: readMarks.value, typing: typing.value };
  const myId = me.value?.id;
  const refresh = needsRefresh(before, e, myId);
  const after = applyChatEvent(before, e, myId);
  batch(() => {
    chatMap.value = after.chats;
    readMarks.value = after.readMarks;
    typing.value = after.typing;
    if (isMemberEvent(e)) membersChanged.value++;
  });
  if (refresh) void refreshChat(e.chatId);
}

/** Bumped when a chat's members change, so an open member list reloads. */
export const membersChanged = signal(0);

function onUserEvent(e: UserEvent): void {
  const id = e.chatId;
  switch (e.type) {
    case 'chat.joined':
    case 'chat.read':
    case 'chat.muted':
      if (id) void refreshChat(id);
      return;
    case 'chat.left':
    case 'chat.deleted':
    case 'chat.hidden':
      if (id) {
        const { [id]: _gone, ...rest } = chatMap.value;
        chatMap.value = rest;
        if (openChatId.value === id) location.hash = '#/';
      }
      return;
    case 'session.terminated':
      if (e.sessionId && e.sessionId === client.session?.sessionId) signedOut('This session was ended. Sign in again.');
  }
}

const refreshing = new Map<string, Promise<void>>();
export function refreshChat(chatId: string): Promise<void> {
  let p = refreshing.get(chatId);
  if (!p) {
    p = client
      .getChat({ chatId })
      .then((c) => {
        chatMap.value = { ...chatMap.value, [c.id]: c };
        if (c.peer) {
          if (!presence.value[c.peer.id]) fetchPresence([c.peer.id]);
          rememberUsers([c.peer]);
        }
      })
      .catch((err) => {
        if (err instanceof ParleyError && err.status === 404) {
          const { [chatId]: _gone, ...rest } = chatMap.value;
          chatMap.value = rest;
        }
      })
      .finally(() => refreshing.delete(chatId));
    refreshing.set(chatId, p);
  }
  return p;
}

export function rememberUsers(list: User[]): void {
  const next = { ...users.value };
  for (const u of list) next[u.id] = u;
  users.value = next;
}

const userLookups = new Set<string>();
/** A user's display name, fetched once when not yet known. */
export function userName(userId: string): string {
  const u = users.value[userId];
  if (u) return u.displayName;
  if (me.value?.id === userId) return me.value.displayName;
  if (!userLookups.has(userId)) {
    userLookups.add(userId);
    client
      .getUser({ userId })
      .then((found) => rememberUsers([found]))
      .catch(() => {});
  }
  return '…';
}

/** Marks the open chat read up to a position, over the socket when it is up. */
export function markRead(chatId: string, seq: number): void {
  const chat = chatMap.value[chatId];
  if (!chat || seq <= chat.readSeq) return;
  chatMap.value = { ...chatMap.value, [chatId]: { ...chat, readSeq: seq, unreadCount: seq >= (chat.lastMessage?.seq ?? 0) ? 0 : chat.unreadCount } };
  const done = (r: { readSeq: number; unreadCount: number }) => {
    const c = chatMap.value[chatId];
    if (c) chatMap.value = { ...chatMap.value, [chatId]: { ...c, readSeq: Math.max(c.readSeq, r.readSeq), unreadCount: r.unreadCount } };
  };
  const viaSocket = rt && connection.value === 'online' ? rt.markRead(chatId, seq) : client.markRead({ chatId, seq });
  viaSocket.then(done).catch(() => {});
}

export function sendMessage(chatId: string, text: string, replyToId?: string): void {
  if (rt) {
    rt.send({ chatId, text, ...(replyToId ? { replyToId } : {}) });
    return;
  }
  // Offline with no socket client: queue it; the next client sends it with this id.
  const userId = me.value?.id;
  if (!userId) return;
  const clientMessageId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
  outbox.value = [...outbox.value, { clientMessageId, chatId, text, ...(replyToId ? { replyToId } : {}), state: 'pending' }];
  storage.setOutbox(userId, outbox.value);
}

export function retrySend(clientMessageId: string): void {
  rt?.retrySend(clientMessageId);
}

export async function signOut(): Promise<void> {
  try {
    await client.logout();
  } catch {
    client.setSession(null);
  }
  signedOut(null);
}

function signedOut(reason: string | null): void {
  const userId = me.value?.id;
  // Set first: clearing the session below reports back through onSessionChange.
  auth.value = 'signed-out';
  disconnect();
  resumeFrom = null;
  if (refreshTimer) clearInterval(refreshTimer);
  refreshTimer = null;
  if (client.session) client.setSession(null);
  if (userId) storage.clearUser(userId);
  batch(() => {
    signOutReason.value = reason;
    auth.value = 'signed-out';
    me.value = null;
    chatMap.value = {};
    outbox.value = [];
    presence.value = {};
    typing.value = {};
    readMarks.value = {};
    users.value = {};
    openChatId.value = null;
  });
  resetTimelines();
  if (!location.hash.startsWith('#/register')) location.hash = '#/login';
}

export { timelines };
