import {
  CLOSE,
  WS_PATH,
  WS_PROTOCOL,
  WS_TOKEN_PREFIX,
  type ChatEvent,
  type Message,
  type Presence,
  type SyncCursor,
  type ServerFrame,
  type SyncEvent,
  type UserEvent,
} from '@parley/protocol';
import { newClientId } from './client-id.ts';
import { advance, judge, mergeAnswer, startCursor, type EventOrigin } from './cursor.ts';
import { Outbox, type PendingMessage, type SendInput, type ServerReply, type Settled, type WriteSend } from './outbox.ts';
import { ParleyError } from './errors.ts';
import type { ParleyClient } from './http-client.ts';

/**
 * A handler whose event type is checked both ways (as method parameters are), so the browser's
 * handlers and the `ws` package's, each typed with its own event class, both fit.
 */
type Handler<E> = { handle(ev: E): void }['handle'];

/** The part of the WebSocket API the client uses: the browser's, or the `ws` package's in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onerror: Handler<unknown> | null;
}
export type WebSocketFactory = new (url: string, protocols: string[]) => WebSocketLike;

/** How long to wait before asking again after a sync the server refused. */
const SYNC_RETRY_MS = 2000;

export type ConnectionState = 'connecting' | 'online' | 'offline' | 'ended';

export interface RealtimeEvents {
  /** A change from the ordered log, applied exactly once and in order per log */
  event: SyncEvent;
  presence: Presence;
  typing: { chatId: string; userId: string };
  state: ConnectionState;
  /** A message of mine changed state: pending, sent (acked after commit) or failed */
  outbox: PendingMessage;
  /** The cursor moved (persist it to resume from there after a restart) */
  cursor: SyncCursor;
  /** A sync round finished and nothing more is waiting */
  synced: SyncCursor;
}

export interface RealtimeOptions {
  /** Required in Node 20 (no global WebSocket): pass `WebSocket` from the `ws` package */
  WebSocket?: WebSocketFactory;
  /** Where this device is; the client fetches what it missed since then */
  cursor?: SyncCursor;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** At most this many events per sync round (1 to 5000; the server's default, 1000, when unset) */
  syncPageSize?: number;
}

/** How long to wait before sending again a message the server turned away for now (a rate limit, trouble). */
const SEND_RETRY_MS = 2000;

/**
 * The realtime client: one WebSocket with automatic reconnect (exponential backoff), resync from
 * the last cursor after every (re)connect, gap detection, and an outbox of sends that survive
 * reconnects without duplicates.
 * @example
 *   const rt = new ParleyRealtime(client, { WebSocket }); // `ws` in Node
 *   rt.on('event', (e) => console.log(e.type));
 *   await rt.connect();
 *   await rt.send({ chatId, text: 'hi' }).acked;
 */
export class ParleyRealtime {
  private readonly client: ParleyClient;
  private readonly Impl: WebSocketFactory;
  private readonly listeners = new Map<keyof RealtimeEvents, Set<(v: never) => void>>();
  private readonly sending = new Outbox();
  private readonly waiting = new Map<string, { resolve(v: ServerReply): void; reject(e: Error): void }>();
  private ws: WebSocketLike | null = null;
  private stateValue: ConnectionState = 'offline';
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private syncing = false;
  private syncAgain = false;
  /** Live events that arrive while a sync is in flight, applied after its answer */
  private held: SyncEvent[] = [];
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly syncPageSize?: number;
  /** Checks that the socket still hears from the server (see watch). */
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private heardAt = 0;
  /** Positions this device has: its personal log and each chat */
  cursor: SyncCursor;

  constructor(client: ParleyClient, options: RealtimeOptions = {}) {
    this.client = client;
    const Impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
    if (!Impl) throw new Error('No WebSocket implementation: pass options.WebSocket (the "ws" package in Node 20)');
    this.Impl = Impl;
    this.cursor = startCursor(options.cursor);
    this.minBackoff = options.minBackoffMs ?? 500;
    this.maxBackoff = options.maxBackoffMs ?? 30_000;
    this.syncPageSize = options.syncPageSize;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  on<K extends keyof RealtimeEvents>(type: K, listener: (value: RealtimeEvents[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  private emit<K extends keyof RealtimeEvents>(type: K, value: RealtimeEvents[K]): void {
    for (const l of this.listeners.get(type) ?? []) (l as (v: RealtimeEvents[K]) => void)(value);
  }

  private setState(state: ConnectionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.emit('state', state);
  }

  /** Connects and resolves once the first sync after connecting is done. */
  connect(): Promise<void> {
    this.stopped = false;
    const done = new Promise<void>((resolve) => {
      const off = this.on('synced', () => {
        off();
        resolve();
      });
    });
    this.open();
    return done;
  }

  /** Closes the socket and stops reconnecting. */
  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.unwatch();
    this.ws?.close(1000, 'bye');
    this.ws = null;
    // Requests in flight (a sync among them) end here: a later connect() starts clean.
    for (const w of this.waiting.values()) w.reject(new ParleyError('network_error', 'The connection was closed', 0));
    this.waiting.clear();
    this.setState('offline');
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    this.setState('connecting');
    try {
      await this.client.ensureFresh();
    } catch (err) {
      if (err instanceof ParleyError && err.status === 401) return this.end();
    }
    const session = this.client.session;
    if (!session) return this.end();
    const url = `${this.client.baseUrl.replace(/^http/, 'ws')}${WS_PATH}`;
    let ws: WebSocketLike;
    try {
      ws = new this.Impl(url, [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${session.accessToken}`]);
    } catch {
      return this.retry();
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (ev) => {
      this.heardAt = Date.now();
      this.onFrame(String(ev.data));
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.lost();
      if (ev.code === CLOSE.sessionEnded) return this.end();
      // Refused before opening: the access token may have expired, so refresh before trying again.
      if (!opened) this.client.refresh().catch((err) => err instanceof ParleyError && err.status === 401 && this.end());
      this.retry();
    };
  }

  /** The socket is gone (closed, or silent for too long): requests on it fail, and it is let go. */
  private lost(): void {
    this.ws = null;
    this.unwatch();
    for (const w of this.waiting.values()) w.reject(new ParleyError('network_error', 'The connection closed', 0));
    this.waiting.clear();
  }

  /**
   * A socket can die without closing (a laptop that slept, a NAT that forgot the connection). Once
   * the server has said how often it pings, a socket silent for that long gets a ping frame, and one
   * silent for twice that long is given up on: the client reconnects and syncs what it missed.
   */
  private watch(ws: WebSocketLike, intervalMs: number): void {
    this.unwatch();
    this.heardAt = Date.now();
    this.heartbeat = setInterval(
      () => {
        if (this.ws !== ws) return this.unwatch();
        const silentMs = Date.now() - this.heardAt;
        if (silentMs >= 2 * intervalMs) {
          this.lost();
          this.retry();
          // Closing a dead socket may take long; this client no longer waits for it.
          ws.close(1000, 'silent');
        } else if (silentMs >= intervalMs) this.write({ type: 'ping', id: newClientId() });
      },
      Math.max(100, intervalMs / 2),
    );
  }

  private unwatch(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private end(): void {
    this.stopped = true;
    this.setState('ended');
  }

  private retry(): void {
    if (this.stopped) return;
    this.setState('offline');
    const delay = Math.min(this.maxBackoff, this.minBackoff * 2 ** this.attempts) * (0.5 + Math.random() / 2);
    this.attempts++;
    this.timer = setTimeout(() => this.open(), delay);
  }

  private write(frame: object): boolean {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private request<T extends ServerReply['type']>(frame: { type: string; [k: string]: unknown }, answer: T): Promise<Extract<ServerReply, { type: T }>> {
    const id = newClientId();
    return new Promise((resolve, reject) => {
      if (!this.write({ ...frame, id })) return reject(new ParleyError('network_error', 'Not connected', 0));
      this.waiting.set(id, {
        resolve: (reply) =>
          reply.type === answer
            ? resolve(reply as Extract<ServerReply, { type: T }>)
            : reject(new ParleyError('invalid_reply', `Expected ${answer}, got ${reply.type}`, 0)),
        reject,
      });
    });
  }

  private onFrame(text: string): void {
    // The server's frames follow the protocol's schemas (ServerFrame); a frame of an unknown type is ignored.
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case 'hello':
        this.attempts = 0;
        if (this.ws && typeof frame.heartbeatMs === 'number' && frame.heartbeatMs > 0) this.watch(this.ws, frame.heartbeatMs);
        this.setState('online');
        void this.sync();
        this.sending.transmitPending(this.writeSend);
        return;
      case 'event':
        // Applied after the answer of a sync in flight, so that answer meets the cursor it was asked for.
        if (this.syncing) this.held.push(frame.event);
        else this.accept(frame.event, 'live');
        return;
      case 'presence': {
        const { type: _t, ...presence } = frame;
        return this.emit('presence', presence);
      }
      case 'typing':
        return this.emit('typing', { chatId: frame.chatId, userId: frame.userId });
      case 'resync':
        // The server's node may have missed changes made elsewhere while its bus was down.
        return void this.sync();
      case 'ack':
      case 'changes':
      case 'pong':
      case 'error':
        return this.reply(frame);
    }
  }

  private reply(frame: ServerReply): void {
    const settled = this.sending.settle(frame);
    if (settled) return this.onSettled(settled);
    const id = frame.id;
    const waiter = id === undefined ? undefined : this.waiting.get(id);
    if (id === undefined || !waiter) return;
    this.waiting.delete(id);
    if (frame.type === 'error') waiter.reject(new ParleyError(frame.error.code, frame.error.message, 400));
    else waiter.resolve(frame);
  }

  /** Applies an event once, in order (see judge); a live event past the next position fetches the gap. */
  private accept(event: SyncEvent, origin: EventOrigin): void {
    const verdict = judge(this.cursor, event, origin);
    if (verdict === 'gap' && origin === 'live') void this.sync();
    if (verdict !== 'apply') return;
    this.moveCursor(advance(this.cursor, event));
    this.emit('event', event);
    if (origin === 'live') this.emit('cursor', this.cursor);
  }

  /** The cursor object stays the same one (callers hold it), its positions change. */
  private moveCursor(next: SyncCursor): void {
    this.cursor.userSeq = next.userSeq;
    this.cursor.chats = next.chats;
  }

  /** Fetches everything after the cursor; concurrent calls collapse into one more round. */
  async sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    try {
      do {
        this.syncAgain = false;
        const changes = await this.request(
          {
            type: 'sync',
            userSeq: this.cursor.userSeq,
            chats: this.cursor.chats,
            ...(this.syncPageSize ? { limit: this.syncPageSize } : {}),
          },
          'changes',
        );
        for (const e of changes.events) this.accept(e, 'sync');
        this.moveCursor(mergeAnswer(this.cursor, changes));
        this.emit('cursor', this.cursor);
        if (changes.hasMore) this.syncAgain = true;
        // Live events held meanwhile: duplicates drop out, and a gap asks for another round.
        const held = this.held;
        this.held = [];
        for (const e of held) this.accept(e, 'live');
      } while (this.syncAgain);
      this.emit('synced', this.cursor);
    } catch {
      // The connection dropped mid-sync (the next connection syncs again), or the server answered
      // with an error while the socket stays open (the store briefly down): then try again shortly.
      this.held = [];
      const ws = this.ws;
      if (!this.stopped && ws) {
        setTimeout(() => {
          if (this.ws === ws) void this.sync();
        }, SYNC_RETRY_MS);
      }
    } finally {
      this.syncing = false;
    }
  }

  /** Reports what a reply did to a message of mine; one turned away for now is sent again shortly. */
  private onSettled({ outcome, message }: Settled): void {
    if (outcome === 'sent' || outcome === 'failed') this.emit('outbox', message);
    if (outcome === 'retry') setTimeout(() => this.sending.transmit(message.clientMessageId, this.writeSend), SEND_RETRY_MS);
  }

  /**
   * Sends a message through the socket. It stays pending across reconnects and is sent again
   * with the same clientMessageId until acknowledged, so it is never duplicated.
   */
  send(input: SendInput): { clientMessageId: string; acked: Promise<Message> } {
    const { message, acked } = this.sending.add(input);
    this.emit('outbox', message);
    this.sending.transmit(message.clientMessageId, this.writeSend);
    return { clientMessageId: message.clientMessageId, acked };
  }

  /** Sends a failed message again. */
  retrySend(clientMessageId: string): void {
    const message = this.sending.retry(clientMessageId);
    if (!message) return;
    this.emit('outbox', message);
    this.sending.transmit(clientMessageId, this.writeSend);
  }

  /** Messages not yet acknowledged (pending or failed). */
  get outbox(): PendingMessage[] {
    return this.sending.list();
  }

  private readonly writeSend: WriteSend = (frame) => this.write(frame);

  /** Marks a chat read up to a position. */
  async markRead(chatId: string, seq: number): Promise<{ readSeq: number; unreadCount: number }> {
    const ack = await this.request({ type: 'read', chatId, seq }, 'ack');
    if (ack.readSeq === undefined || ack.unreadCount === undefined) throw new ParleyError('invalid_reply', 'The read reply lacks its position', 0);
    return { readSeq: ack.readSeq, unreadCount: ack.unreadCount };
  }

  /** Tells the other members that I am typing (not stored; send at most every few seconds). */
  typing(chatId: string): void {
    this.write({ type: 'typing', chatId });
  }
}

export type { ChatEvent, PendingMessage, UserEvent };
