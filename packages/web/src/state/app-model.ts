import { batch, computed, signal } from '@preact/signals';
import { createModel } from './create-model.ts';
import { ParleyError, type Chat, type Me, type ParleyClient, type SyncEvent, type UserEvent } from '@parley/sdk';
import { CallsModel } from '../calls/calls-model.ts';
import { ChatsModel } from './chats-model.ts';
import { ConnectionModel, notConnected } from './connection-model.ts';
import { DraftsModel } from './drafts-model.ts';
import { PeopleModel } from './people-model.ts';
import { PinsModel } from './pins-model.ts';
import { createNotifier } from '../notify/notifier.ts';
import { type RouterModel } from './router-model.ts';
import { SessionModel } from './session-model.ts';
import { TimelineModel } from './timeline-model.ts';
import { UploadsModel } from './uploads-model.ts';
import { uploadStore } from './upload-store.ts';
import type { AppStorage } from './storage.ts';

const ENDED = 'This session was ended. Sign in again.';

function positions(chats: Record<string, Chat>): Record<string, number> {
  return Object.fromEntries(Object.values(chats).map((c) => [c.id, c.lastSeq]));
}

/** The whole client: the models below, wired to each other, and the sign-in lifecycle. */
export const AppModel = createModel((client: ParleyClient, storage: AppStorage, router: RouterModel) => {
  const notice = signal<string | null>(null);
  const showNotice = (err: unknown) => (notice.value = err instanceof Error ? err.message : String(err));

  const session = new SessionModel(client, storage, (reason) => signedOut(reason));
  const people = new PeopleModel(client, session.me);
  const chats = new ChatsModel(client, people, session.me);
  const timelines = new TimelineModel(client, showNotice);
  const pins = new PinsModel(client);
  const drafts = new DraftsModel(storage);
  const notify = createNotifier((chatId) => router.go(`#/chat/${encodeURIComponent(chatId)}`));
  const connection = new ConnectionModel(client, storage, {
    event: onEvent,
    presence: people.setPresence,
    profile: (u) => {
      people.remember([u]);
      chats.profileChanged(u);
      const mine = session.me.value;
      if (mine && mine.id === u.id) session.accountUpdated({ ...mine, displayName: u.displayName, avatarFileId: u.avatarFileId });
    },
    typing: chats.typingStarted,
    sent: timelines.addSent,
    call: (frame) => calls.onFrame(frame),
    ended: () => signedOut(ENDED),
  });
  const calls = new CallsModel({
    realtime: () => connection.realtime(),
    myId: () => session.me.value?.id,
    online: computed(() => connection.connection.value === 'online'),
  });
  const uploads = new UploadsModel(client, {
    userId: computed(() => session.me.value?.id),
    limits: session.limits,
    send: (chatId, text, replyToId, attachments, clientMessageId) => connection.send(chatId, text, replyToId, attachments, clientMessageId),
    store: uploadStore,
  });

  function onEvent(e: SyncEvent): void {
    if (e.log === 'user') return onUserEvent(e);
    // Taken out by someone else: say so before the chat goes (its chat.left follows).
    const myId = session.me.value?.id;
    if (e.type === 'member.removed' && e.member?.userId === myId && e.actorId !== myId) {
      const title = chats.chatMap.value[e.chatId]?.title;
      if (title) showNotice(`You were removed from “${title}”`);
    }
    timelines.applyEvent(e);
    pins.applyEvent(e);
    chats.applyEvent(e);
    const chat = chats.chatMap.value[e.chatId];
    if (e.type === 'message.created' && e.message && chat && e.message.senderId !== myId) {
      const m = e.message;
      void nameOf(m.senderId).then((sender) => notify.arrived(chat, m, { myId, openChatId: chats.openChatId.value, sender }));
    }
  }

  /** A user's display name, fetched when not known yet (a notification cannot fill it in later). */
  async function nameOf(userId: string): Promise<string> {
    const known = people.users.value[userId];
    if (known) return known.displayName;
    try {
      const u = await client.getUser({ userId });
      people.remember([u]);
      return u.displayName;
    } catch {
      return 'Someone';
    }
  }

  function onUserEvent(e: UserEvent): void {
    const id = e.chatId;
    switch (e.type) {
      case 'chat.joined':
      case 'chat.read':
      case 'chat.muted':
        if (id) void chats.refresh(id);
        return;
      case 'chat.left':
      case 'chat.deleted':
      case 'chat.hidden':
        if (id) {
          chats.remove(id);
          if (chats.openChatId.value === id) router.go('#/');
        }
        return;
      case 'session.terminated':
        if (e.sessionId && e.sessionId === client.session?.sessionId) signedOut(ENDED);
    }
  }

  function signedOut(reason: string | null): void {
    batch(() => {
      calls.reset();
      connection.stop();
      uploads.reset();
      session.signedOut(reason);
      chats.reset();
      people.reset();
      timelines.reset();
      pins.reset();
      drafts.reset();
    });
    if (router.route.value.path[0] !== 'register') router.go('#/login');
  }

  /** Loads the account and chats, then keeps them live over the socket. */
  async function start(): Promise<void> {
    if (!client.session) {
      session.auth.value = 'signed-out';
      return;
    }
    let account: Me;
    for (;;) {
      try {
        account = await client.getMe();
        break;
      } catch (err) {
        if (err instanceof ParleyError && err.status === 401) return signedOut(null);
        // Offline (or the server down) at load: keep the session and try again.
        connection.connection.value = notConnected();
        await new Promise((r) => setTimeout(r, 3000));
        if (!client.session) return signedOut(null);
      }
    }
    session.loadLimits();
    await chats.load();
    drafts.load(account.id);
    session.signedIn(account);
    connection.connect(account.id, positions(chats.chatMap.value));
    void uploads.restore(account.id);
  }

  return {
    notice,
    router,
    session,
    people,
    chats,
    timelines,
    pins,
    drafts,
    connection,
    calls,
    uploads,
    notify,
    showNotice,
    start,
    async signIn(input: { username: string; password: string }) {
      await session.login(input);
      await start();
    },
    async register(input: { inviteCode: string; username: string; password: string; displayName: string }) {
      await client.register(input);
      await session.login({ username: input.username, password: input.password });
      await start();
    },
    async signOut() {
      const userId = session.me.value?.id;
      await session.logout();
      if (userId) void uploadStore.clearUser(userId);
      signedOut(null);
    },
    /** Marks the open chat read up to a position. */
    markRead(chatId: string, seq: number) {
      chats.markRead(chatId, seq, connection.markRead);
    },
    cameOnline() {
      if (session.auth.value === 'signed-in') connection.cameOnline(positions(chats.chatMap.value));
    },
  };
});
export type AppModel = InstanceType<typeof AppModel>;
