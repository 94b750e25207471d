import { signal } from '@preact/signals';
import { createModel } from './create-model.ts';
import {
  ParleyRealtime,
  type AttachmentInput,
  type CallNotice,
  type Message,
  type ParleyClient,
  type PendingMessage,
  type Presence,
  type User,
  type SyncCursor,
  type SyncEvent,
} from '@parley/sdk';
import type { AppStorage } from './storage.ts';

/** `offline`: the browser has no network; `unreachable`: it has, but the server does not answer. */
export type Connection = 'connecting' | 'online' | 'offline' | 'unreachable';

/** What a socket that is not up means: no network at all, or a server that does not answer. */
export function notConnected(): Connection {
  return navigator.onLine ? 'unreachable' : 'offline';
}

/** The wait a rate-limit refusal names ("…, try again in 7 seconds"), in ms; a couple of seconds when it names none. */
export function retryAfterMs(message: string): number {
  const seconds = Number(/(\d+) seconds?/.exec(message)?.[1] ?? 2);
  return Math.max(1, seconds) * 1000;
}

/** Where the socket's news goes. */
export interface ConnectionHandlers {
  event(e: SyncEvent): void;
  presence(p: Presence): void;
  /** someone's (or my own, from another device) new name or picture */
  profile(u: User): void;
  typing(chatId: string, userId: string): void;
  sent(m: Message): void;
  /** A call frame for this device */
  call(frame: CallNotice): void;
  /** The server ended this session. */
  ended(): void;
}

/**
 * The realtime socket and the outbox of my messages on their way. The outbox is kept in storage,
 * so what was queued before a reload goes out again with the same ids, never twice.
 */
export const ConnectionModel = createModel((client: ParleyClient, storage: AppStorage, on: ConnectionHandlers) => {
  const connection = signal<Connection>('connecting');
  const outbox = signal<PendingMessage[]>([]);
  /** When the server said my sends may go again (they wait on the rate limit until then); 0 when they do not wait. */
  const slowDownUntil = signal(0);
  let rt: ParleyRealtime | null = null;
  let offs: (() => void)[] = [];
  let userId: string | null = null;
  /** The cursor of the socket that was dropped when the network went away, to resume from. */
  let resumeFrom: SyncCursor | null = null;

  function saveOutbox(next: PendingMessage[]): void {
    outbox.value = next;
    if (userId) storage.setOutbox(userId, next);
  }

  function open(cursor: SyncCursor): void {
    const r = new ParleyRealtime(client, { cursor });
    const me = userId!;
    rt = r;
    offs = [
      r.on('state', (s) => {
        if (s === 'ended') return on.ended();
        if (!navigator.onLine) connection.value = 'offline';
        else if (s === 'offline') connection.value = 'unreachable';
        // Another try at a server that did not answer: still unreachable until it does.
        else if (!(s === 'connecting' && connection.value === 'unreachable')) connection.value = s;
      }),
      r.on('event', on.event),
      r.on('cursor', (c) => storage.setUserSeq(me, c.userSeq)),
      r.on('presence', on.presence),
      r.on('profile', on.profile),
      r.on('typing', ({ chatId, userId: who }) => on.typing(chatId, who)),
      r.on('call', on.call),
      r.on('outbox', (p) => {
        if (p.state === 'sent' && p.message) on.sent(p.message);
        if (p.state === 'pending' && p.error?.code === 'rate_limited') slowDownUntil.value = Date.now() + retryAfterMs(p.error.message);
        saveOutbox([...outbox.value.filter((o) => o.clientMessageId !== p.clientMessageId), ...(p.state === 'sent' ? [] : [p])]);
      }),
    ];
    for (const p of storage.outbox(me))
      r.send({
        chatId: p.chatId,
        text: p.text,
        replyToId: p.replyToId,
        clientMessageId: p.clientMessageId,
        ...(p.attachments ? { attachments: p.attachments } : {}),
      });
    void r.connect();
  }

  function close(): void {
    for (const off of offs) off();
    offs = [];
    rt?.close();
    rt = null;
  }

  return {
    connection,
    outbox,
    slowDownUntil,
    /** The socket of the moment, for calls (null while there is none) */
    realtime: (): ParleyRealtime | null => rt,
    /** Opens the socket for this user, resuming from the positions of the chats already loaded. */
    connect(forUserId: string, chatPositions: Record<string, number>) {
      userId = forUserId;
      open({ userSeq: storage.userSeq(forUserId), chats: chatPositions });
    },
    /** The browser knows first when the network goes: drop the socket, keeping its cursor. */
    wentOffline() {
      if (!rt) return;
      connection.value = 'offline';
      resumeFrom = rt.cursor;
      close();
    },
    /** The network is back: a fresh socket resyncs from the cursor, so nothing half-done lingers. */
    cameOnline(chatPositions: Record<string, number>) {
      if (rt || !userId) return;
      connection.value = 'connecting';
      const cursor = resumeFrom ?? { userSeq: storage.userSeq(userId), chats: chatPositions };
      resumeFrom = null;
      open(cursor);
    },
    send(chatId: string, text: string, replyToId?: string, attachments?: AttachmentInput[], id?: string) {
      const extra = { ...(replyToId ? { replyToId } : {}), ...(attachments?.length ? { attachments } : {}) };
      if (rt) {
        rt.send({ chatId, text, ...extra, ...(id ? { clientMessageId: id } : {}) });
        return;
      }
      // Offline with no socket: queue it; the next socket sends it with this id.
      if (!userId) return;
      const clientMessageId = id ?? `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
      saveOutbox([...outbox.value, { clientMessageId, chatId, text, ...extra, state: 'pending' }]);
    },
    retry(clientMessageId: string) {
      rt?.retrySend(clientMessageId);
    },
    typing(chatId: string) {
      rt?.typing(chatId);
    },
    /** Marks a chat read, over the socket when it is up. */
    markRead(chatId: string, seq: number): Promise<{ readSeq: number; unreadCount: number }> {
      return rt && connection.value === 'online' ? rt.markRead(chatId, seq) : client.markRead({ chatId, seq });
    },
    /** Closes the socket and forgets the user's outbox (signing out). */
    stop() {
      close();
      resumeFrom = null;
      userId = null;
      outbox.value = [];
    },
  };
});
export type ConnectionModel = InstanceType<typeof ConnectionModel>;
