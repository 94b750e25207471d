import type {
  CallNotice,
  ChatEvent,
  ClientFrame,
  IceCandidate,
  IceServer,
  Message,
  Presence,
  ServerFrame,
  SessionDescription,
  SyncCursor,
  SyncEvent,
  User,
  UserEvent,
} from '@parley/protocol';
import { newClientId } from './client-id.ts';
import { Connection, type ConnectionState, type WebSocketFactory } from './connection.ts';
import { advance, judge, mergeAnswer, startCursor, type EventOrigin } from './cursor.ts';
import { ParleyError } from './errors.ts';
import type { ParleyClient } from './http-client.ts';
import { Outbox, type PendingMessage, type SendInput, type ServerReply, type Settled, type WriteSend } from './outbox.ts';

/** How long to wait before asking again after a sync the server refused. */
const SYNC_RETRY_MS = 2000;

/** How long to wait before sending again a message the server turned away for now (a rate limit, trouble). */
const SEND_RETRY_MS = 2000;

export interface RealtimeEvents {
  /** A change from the ordered log, applied exactly once and in order per log */
  event: SyncEvent;
  presence: Presence;
  typing: { chatId: string; userId: string };
  /** Someone I share a chat with (or I, elsewhere) changed their display name or picture */
  profile: User;
  state: ConnectionState;
  /** A message of mine changed state: pending (again with an error when turned away for now, e.g. rate_limited), sent (acked after commit) or failed */
  outbox: PendingMessage;
  /** The cursor moved (persist it to resume from there after a restart) */
  cursor: SyncCursor;
  /** A sync round finished and nothing more is waiting */
  synced: SyncCursor;
  /**
   * A call frame for this device: call.incoming (it rings), call.accepted (the answer, on the
   * caller's device), call.signal (the peer's ICE or SDP), call.state (another of my devices placed,
   * answered or took the call), call.ended
   */
  call: CallNotice;
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

/** A request frame before it gets its id (each request gets a new one). */
type RequestBody = ClientFrame extends infer F ? (F extends { id: string } ? Omit<F, 'id'> : never) : never;

type CallReply = Extract<ServerFrame, { type: 'call.ringing' | 'call.resumed' }>;
/** What answers a request: the replies the outbox knows, and call.ringing / call.resumed for call.invite / call.resume. */
type Reply = ServerReply | CallReply;

/** What call.resume gives back. */
export type ResumedCall = Omit<Extract<ServerFrame, { type: 'call.resumed' }>, 'type' | 'id'>;

/** What call.invite gives back: the call's id and the ICE servers (with fresh TURN credentials) for my RTCPeerConnection. */
export interface PlacedCall {
  callId: string;
  chatId: string;
  iceServers: IceServer[];
}

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
  private readonly connection: Connection;
  private readonly listeners = new Map<keyof RealtimeEvents, Set<(v: never) => void>>();
  private readonly sending = new Outbox();
  private readonly waiting = new Map<string, { resolve(v: Reply): void; reject(e: Error): void }>();
  private readonly writeSend: WriteSend = (frame) => this.connection.write(frame);
  private syncing = false;
  private syncAgain = false;
  /** Live events that arrive while a sync is in flight, applied after its answer */
  private held: SyncEvent[] = [];
  private readonly syncPageSize?: number;
  /** Positions this device has: its personal log and each chat */
  cursor: SyncCursor;
  /** This device's session id, from the server's hello (null before the first one): call frames name devices by it */
  sessionId: string | null = null;

  constructor(client: ParleyClient, options: RealtimeOptions = {}) {
    this.connection = new Connection({
      client,
      WebSocket: options.WebSocket,
      minBackoffMs: options.minBackoffMs,
      maxBackoffMs: options.maxBackoffMs,
      events: {
        onHello: (hello) => this.onHello(hello),
        onFrame: (frame) => this.onFrame(frame),
        onLost: () => this.failRequests('The connection closed'),
        onState: (state) => this.emit('state', state),
      },
    });
    this.cursor = startCursor(options.cursor);
    this.syncPageSize = options.syncPageSize;
  }

  get state(): ConnectionState {
    return this.connection.state;
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

  /** Connects and resolves once the first sync after connecting is done. */
  connect(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      const off = this.on('synced', () => {
        off();
        resolve();
      });
    });
    this.connection.start();
    return done;
  }

  /** Closes the socket and stops reconnecting. */
  close(): void {
    this.connection.close();
    // Requests in flight (a sync among them) end here: a later connect() starts clean.
    this.failRequests('The connection was closed');
  }

  /** Requests written on a socket that is gone get no answer: they fail now. */
  private failRequests(message: string): void {
    for (const w of this.waiting.values()) w.reject(new ParleyError('network_error', message, 0));
    this.waiting.clear();
  }

  private request<T extends Reply['type']>(body: RequestBody, answer: T): Promise<Extract<Reply, { type: T }>> {
    const id = newClientId();
    return new Promise((resolve, reject) => {
      if (!this.connection.write({ ...body, id } as ClientFrame)) return reject(new ParleyError('network_error', 'Not connected', 0));
      this.waiting.set(id, {
        resolve: (reply) =>
          reply.type === answer
            ? resolve(reply as Extract<Reply, { type: T }>)
            : reject(new ParleyError('invalid_reply', `Expected ${answer}, got ${reply.type}`, 0)),
        reject,
      });
    });
  }

  /** A new socket: fetch what was missed, and send again what is still pending. */
  private onHello(hello: Extract<ServerFrame, { type: 'hello' }>): void {
    this.sessionId = hello.sessionId;
    void this.sync();
    this.sending.transmitPending(this.writeSend);
  }

  private onFrame(frame: Exclude<ServerFrame, { type: 'hello' }>): void {
    switch (frame.type) {
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
      case 'profile':
        return this.emit('profile', frame.user);
      case 'resync':
        // The server's node may have missed changes made elsewhere while its bus was down.
        return void this.sync();
      case 'ack':
      case 'changes':
      case 'pong':
      case 'error':
      case 'call.ringing':
      case 'call.resumed':
        return this.reply(frame);
      case 'call.incoming':
      case 'call.state':
      case 'call.accepted':
      case 'call.signal':
      case 'call.ended':
        return this.emit('call', frame);
    }
  }

  private reply(frame: Reply): void {
    const settled = frame.type === 'call.ringing' || frame.type === 'call.resumed' ? undefined : this.sending.settle(frame);
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
        await this.syncRound();
      } while (this.syncAgain);
      this.emit('synced', this.cursor);
    } catch {
      // The connection dropped mid-sync (the next connection syncs again), or the server answered
      // with an error while the socket stays open (the store briefly down): then try again shortly.
      this.held = [];
      const socket = this.connection.current();
      if (socket) {
        setTimeout(() => {
          if (this.connection.current() === socket) void this.sync();
        }, SYNC_RETRY_MS);
      }
    } finally {
      this.syncing = false;
    }
  }

  /** One page of changes: its events, its cursor, then the live events held meanwhile. */
  private async syncRound(): Promise<void> {
    const { userSeq, chats } = this.cursor;
    const changes = await this.request({ type: 'sync', userSeq, chats, ...(this.syncPageSize ? { limit: this.syncPageSize } : {}) }, 'changes');
    for (const e of changes.events) this.accept(e, 'sync');
    this.moveCursor(mergeAnswer(this.cursor, changes));
    this.emit('cursor', this.cursor);
    if (changes.hasMore) this.syncAgain = true;
    // Live events held meanwhile: duplicates drop out, and a gap asks for another round.
    const held = this.held;
    this.held = [];
    for (const e of held) this.accept(e, 'live');
  }

  /** Reports what a reply did to a message of mine; one turned away for now (still pending, with its reason) is sent again shortly. */
  private onSettled({ outcome, message }: Settled): void {
    if (outcome !== 'none') this.emit('outbox', message);
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

  /** Marks a chat read up to a position. */
  async markRead(chatId: string, seq: number): Promise<{ readSeq: number; unreadCount: number }> {
    const ack = await this.request({ type: 'read', chatId, seq }, 'ack');
    if (ack.readSeq === undefined || ack.unreadCount === undefined) throw new ParleyError('invalid_reply', 'The read reply lacks its position', 0);
    return { readSeq: ack.readSeq, unreadCount: ack.unreadCount };
  }

  /**
   * Calls the other member of a private chat with my offer. Resolves once it rings (the call is
   * recorded), with the ICE servers for my RTCPeerConnection; fails with call_exists (the chat has a
   * call: answer the call.incoming you got), callee_busy, or not_found / invalid_request.
   * @example const { callId, iceServers } = await rt.inviteCall({ chatId, offer: pc.localDescription!.toJSON() });
   */
  async inviteCall(input: { chatId: string; offer: SessionDescription; callId?: string }): Promise<PlacedCall> {
    const { callId, chatId, iceServers } = await this.request({ type: 'call.invite', ...input }, 'call.ringing');
    return { callId, chatId, iceServers };
  }

  /** Answers a ringing call on this device; fails with call_not_ringing when another device (or the clock) was first. */
  async acceptCall(callId: string, answer: SessionDescription): Promise<void> {
    await this.request({ type: 'call.accept', callId, answer }, 'ack');
  }

  /**
   * After a reconnect (any node), within the server's grace: takes my call back on this device, so it
   * does not end as gone. Then restart ICE (`pc.restartIce()`, and send the new offer with signalCall).
   */
  async resumeCall(callId: string): Promise<ResumedCall> {
    const { type: _t, id: _i, ...resumed } = await this.request({ type: 'call.resume', callId }, 'call.resumed');
    return resumed;
  }

  /** Refuses a ringing call: it stops ringing on every device of mine. */
  async declineCall(callId: string): Promise<void> {
    await this.request({ type: 'call.decline', callId }, 'ack');
  }

  /** Ends my call (ringing or active); `failed` when the media could not connect. */
  async hangupCall(callId: string, reason?: 'hangup' | 'failed'): Promise<void> {
    await this.request({ type: 'call.hangup', callId, ...(reason ? { reason } : {}) }, 'ack');
  }

  /**
   * Sends an ICE candidate (null: no more) or an SDP (renegotiation, ICE restart) to the peer device.
   * Not answered; false when not connected. Errors arrive as error frames without a waiter.
   * @example pc.onicecandidate = (e) => rt.signalCall(callId, { ice: e.candidate ? e.candidate.toJSON() : null });
   */
  signalCall(callId: string, signal: { ice: IceCandidate | null } | { sdp: SessionDescription }): boolean {
    return this.connection.write({ type: 'call.signal', callId, ...signal });
  }

  /** Tells the other members that I am typing (not stored; send at most every few seconds). */
  typing(chatId: string): void {
    this.connection.write({ type: 'typing', chatId });
  }
}

export type { ChatEvent, UserEvent };
