import type { WebSocket } from 'ws';
import { CLOSE } from '@parley/protocol';
import type { CallDelivery, Delivery } from '../adapters/bus/topics.ts';
import type { AppContext } from '../modules/app-context.ts';
import type { Actor } from '../modules/services.ts';
import { AppError } from '../lib/errors.ts';
import { endCallsOfSession } from '../modules/calls/calls.ts';
import { checkSocketSessions } from '../modules/sessions/socket-sessions.ts';
import { frameError } from './errors.ts';
import { encodeDelivery, encodeFrame, writeFrame } from './frame-codec.ts';
import { FRAMES, isFrameType, validateFrameBody } from './frame-table.ts';

/** The default ping interval; PARLEY_WS_HEARTBEAT sets it. */
export const HEARTBEAT_MS = 25_000;

/** One open socket: kept small, since a node holds many of them. */
interface Connection {
  ws: WebSocket;
  actor: Actor;
  alive: boolean;
  openedAt: number;
  /** set when the session ended or the socket was refused: no frame of it runs any more */
  ended: boolean;
  /** set once the hello went out: deliveries reach the socket from then on */
  ready: boolean;
  /** call frames of this socket run one after the other, in the order sent (an answer before its candidates) */
  calls: Promise<void>;
  /** call frames counted in the current window (callWindowStart), for the rate limit */
  callFrames: number;
  callWindowStart: number;
}

/** How long a closed socket gets to read its close frame before the connection is cut. */
const CLOSE_GRACE_MS = 1000;

/** A typing frame counts at most once a second per user and chat. */
const TYPING_INTERVAL_MS = 1000;

/** Call frames one socket may send per window: a call trickles a few dozen ICE candidates, never hundreds. */
const CALL_FRAMES_PER_WINDOW = 120;
const CALL_WINDOW_MS = 10_000;

/**
 * The WebSocket gateway of this node: delivers events from the bus to the sockets of their
 * recipients, answers requests sent over the socket, and closes sockets whose session ended.
 */
export class Gateway {
  private readonly ctx: AppContext;
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly bySession = new Map<string, Set<Connection>>();
  private readonly offs: (() => void)[] = [];
  private readonly heartbeat: NodeJS.Timeout;
  private readonly sessionCheck: NodeJS.Timeout;
  private checking = false;
  private checkFailing = false;
  private readonly typingSeen = new Map<string, number>();
  /** Sessions of this node that took part in a call (sent or got a call frame): those end their calls when they go away */
  private readonly callSessions = new Map<string, { userId: string; timer?: NodeJS.Timeout }>();

  constructor(ctx: AppContext) {
    this.ctx = ctx;
    this.offs.push(ctx.bus.subscribe('deliver', (d) => this.deliver(d)));
    this.offs.push(
      ctx.tokens.onRevoked((sessionIds) => {
        this.endSessions(sessionIds, { code: CLOSE.sessionEnded, reason: 'session_ended' });
        this.leaveCalls(sessionIds);
      }),
    );
    // Deliveries and revocations from other nodes may have been lost while the bus was down: every
    // socket fetches what it missed, and the sockets' sessions are checked against the store.
    this.offs.push(
      ctx.bus.onRecovered(() => {
        this.broadcast(encodeFrame({ type: 'resync' }));
        void this.checkSessions();
      }),
    );
    this.offs.push(ctx.presence.onRestored((userIds) => this.broadcast(encodeFrame({ type: 'resync' }), userIds)));
    this.heartbeat = setInterval(() => this.beat(), ctx.config.ws.heartbeatMs);
    this.heartbeat.unref();
    // What the bus does not carry (the CLI is another process; a bus outage) the store still knows.
    this.sessionCheck = setInterval(() => void this.checkSessions(), ctx.config.ws.sessionCheckMs);
    this.sessionCheck.unref();
  }

  get size(): number {
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  attach(ws: WebSocket, actor: Actor): void {
    const { maxPerUser, maxPerSession } = this.ctx.config.ws;
    if ((this.byUser.get(actor.userId)?.size ?? 0) >= maxPerUser || (this.bySession.get(actor.sessionId)?.size ?? 0) >= maxPerSession) {
      this.ctx.log.info({ userId: actor.userId, sessionId: actor.sessionId }, 'socket refused: too many sockets');
      closeNow(ws, CLOSE.tooManySockets, 'too_many_sockets');
      return;
    }
    const now = Date.now();
    const conn: Connection = {
      ws,
      actor,
      alive: true,
      openedAt: now,
      ended: false,
      ready: false,
      calls: Promise.resolve(),
      callFrames: 0,
      callWindowStart: now,
    };
    add(this.byUser, actor.userId, conn);
    add(this.bySession, actor.sessionId, conn);
    this.ctx.metrics.wsConnections.inc();
    // The hello (after which the client backfills) waits until deliveries for the user are routed
    // to this node: whatever commits after the client's backfill read then reaches this socket.
    void this.ctx.presence.connected(actor.userId).then(() => {
      if (conn.ended || ws.readyState !== ws.OPEN) return;
      conn.ready = true;
      this.send(conn, encodeFrame({ type: 'hello', userId: actor.userId, sessionId: actor.sessionId, heartbeatMs: this.ctx.config.ws.heartbeatMs }));
    });
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      conn.alive = true;
      if (conn.ended) return;
      if (isBinary) return this.fail(conn, undefined, new AppError('invalid_request', 'Frames must be JSON text'));
      void this.onFrame(conn, data.toString());
    });
    ws.on('close', () => {
      remove(this.byUser, actor.userId, conn);
      remove(this.bySession, actor.sessionId, conn);
      this.ctx.metrics.wsConnections.dec();
      this.ctx.presence.disconnected(actor.userId);
      this.graceCalls(actor.sessionId);
    });
  }

  /** A device in a call whose last socket here closed gets the grace period to come back; then its calls end (gone). */
  private graceCalls(sessionId: string): void {
    const entry = this.callSessions.get(sessionId);
    if (!entry || this.bySession.has(sessionId)) return;
    clearTimeout(entry.timer);
    const leftAt = this.ctx.now();
    entry.timer = setTimeout(() => {
      if (!this.bySession.has(sessionId)) this.leaveCalls([sessionId], leftAt);
    }, this.ctx.config.calls.graceMs);
    entry.timer.unref();
  }

  /** Ends the calls of these sessions, among those that took part in calls on this node (with leftAt: unless resumed since). */
  private leaveCalls(sessionIds: string[], leftAt?: number): void {
    for (const sessionId of sessionIds) {
      const entry = this.callSessions.get(sessionId);
      if (!entry) continue;
      clearTimeout(entry.timer);
      this.callSessions.delete(sessionId);
      endCallsOfSession(this.ctx, { userId: entry.userId, sessionId, leftAt }).catch((err) =>
        this.ctx.log.warn({ err, sessionId }, 'ending the calls of a session failed'),
      );
    }
  }

  private inCall(actor: Actor): void {
    const entry = this.callSessions.get(actor.sessionId);
    if (entry) clearTimeout(entry.timer);
    else this.callSessions.set(actor.sessionId, { userId: actor.userId });
  }

  /** Writes a frame, or drops a consumer that has fallen too far behind (it resyncs from its cursor). */
  private send(conn: Connection, bytes: Buffer): void {
    const ws = conn.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.ctx.config.ws.maxBufferBytes) {
      this.ctx.metrics.slowConsumers.inc();
      ws.close(CLOSE.slowConsumer, 'slow_consumer');
      // A consumer that does not read will not read the close frame either.
      setTimeout(() => ws.terminate(), 5000).unref();
      return;
    }
    writeFrame(ws, bytes);
  }

  private deliver(d: Delivery): void {
    if ('call' in d) return this.deliverCall(d);
    let sent = 0;
    // Encoded once for every recipient, instead of once per socket by ws.
    let bytes: Buffer | undefined;
    for (const userId of d.userIds) {
      const conns = this.byUser.get(userId);
      if (!conns) continue;
      bytes ??= encodeDelivery(d);
      for (const c of conns) {
        if (!c.ready) continue;
        this.send(c, bytes);
        sent++;
      }
    }
    if (sent > 0) this.ctx.metrics.eventsDelivered.inc(sent);
  }

  /** A call frame goes only to the sockets of the sessions it names (or of all but one), never stored. */
  private deliverCall(d: CallDelivery): void {
    let bytes: Buffer | undefined;
    for (const userId of d.userIds) {
      for (const c of this.byUser.get(userId) ?? []) {
        const session = c.actor.sessionId;
        if (!c.ready || session === d.exceptSessionId || (d.sessionIds && !d.sessionIds.includes(session))) continue;
        bytes ??= encodeDelivery(d);
        this.send(c, bytes);
        if (d.call.type !== 'call.ended') this.inCall(c.actor);
      }
    }
  }

  private fail(conn: Connection, id: string | undefined, err: unknown): void {
    const { known, error } = frameError(err);
    if (!known) this.ctx.log.error({ err, userId: conn.actor.userId }, 'socket request failed');
    this.send(conn, encodeFrame({ type: 'error', ...(id ? { id } : {}), error }));
  }

  /** Reads the envelope (type, id), then dispatches the rest through the frame table. */
  private async onFrame(conn: Connection, text: string): Promise<void> {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return this.fail(conn, undefined, new AppError('invalid_json', 'The frame is not valid JSON'));
    }
    if (typeof frame !== 'object' || frame === null || typeof (frame as { type?: unknown }).type !== 'string') {
      return this.fail(conn, undefined, new AppError('invalid_request', 'A frame needs a "type"'));
    }
    const { type, id: rawId, ...body } = frame as { type: string; id?: unknown };
    const id = typeof rawId === 'string' && rawId.length >= 1 && rawId.length <= 64 ? rawId : undefined;
    if (!isFrameType(type)) return this.fail(conn, id, new AppError('invalid_request', `Unknown frame type "${type.slice(0, 32)}"`));
    try {
      validateFrameBody(type, body);
      if (type === 'typing' && !this.typingCounts(conn, (body as { chatId: string }).chatId)) return;
      if (type.startsWith('call.')) {
        if (!this.callFrameCounts(conn)) throw new AppError('rate_limited', 'Too many call frames: slow down');
        this.inCall(conn.actor);
        const run = conn.calls.then(() => this.dispatch(conn, type, body, id));
        conn.calls = run.catch(() => {});
        return await run;
      }
      await this.dispatch(conn, type, body, id);
    } catch (err) {
      this.fail(conn, id, err);
    }
  }

  private async dispatch(conn: Connection, type: keyof typeof FRAMES, body: unknown, id: string | undefined): Promise<void> {
    // The session may have ended while the frame was read.
    if (conn.ended) return;
    const route = FRAMES[type] as (typeof FRAMES)['ping'];
    // A request without a usable id is still answered, without one (JSON leaves out undefined).
    const reply = await route.handler({ s: this.ctx, actor: conn.actor, input: body as never, id: id as string });
    if (reply) this.send(conn, encodeFrame(reply));
  }

  /** At most CALL_FRAMES_PER_WINDOW call frames per socket and window. */
  private callFrameCounts(conn: Connection): boolean {
    const now = Date.now();
    if (now - conn.callWindowStart >= CALL_WINDOW_MS) {
      conn.callWindowStart = now;
      conn.callFrames = 0;
    }
    return ++conn.callFrames <= CALL_FRAMES_PER_WINDOW;
  }

  /** Closes every socket of these sessions; none of their frames runs from now on. */
  private endSessions(sessionIds: string[], close: { code: number; reason: string; openedBefore?: number }): void {
    for (const id of sessionIds) {
      for (const c of this.bySession.get(id) ?? []) {
        if (c.ended || (close.openedBefore !== undefined && c.openedAt >= close.openedBefore)) continue;
        c.ended = true;
        closeNow(c.ws, close.code, close.reason);
      }
    }
  }

  /**
   * Checks the sessions of every open socket against the store (one query per 500 sessions) and closes
   * the sockets of those that ended, however they ended and whether or not this node heard of it.
   */
  private async checkSessions(): Promise<void> {
    if (this.checking || this.bySession.size === 0) return;
    this.checking = true;
    const startedAt = Date.now();
    try {
      const states = await checkSocketSessions(this.ctx, [...this.bySession.keys()]);
      // A socket opened during the check was authenticated after what the check read.
      this.endSessions(states.ended, { code: CLOSE.sessionEnded, reason: 'session_ended', openedBefore: startedAt });
      this.leaveCalls(states.ended);
      this.endSessions(states.tokenExpired, { code: CLOSE.tokenExpired, reason: 'token_expired', openedBefore: startedAt });
      if (this.checkFailing) this.ctx.log.info('socket session check works again');
      this.checkFailing = false;
    } catch (err) {
      // The store is down: nothing can be told about the sessions; the next check tries again. Said once, not every second.
      if (!this.checkFailing) this.ctx.log.warn({ err }, 'socket session check failed');
      this.checkFailing = true;
    } finally {
      this.checking = false;
    }
  }

  /** Typing indicators are never stored and at most one a second per chat counts. */
  private typingCounts(conn: Connection, chatId: string): boolean {
    const key = `${conn.actor.userId}:${chatId}`;
    const now = Date.now();
    if (now - (this.typingSeen.get(key) ?? 0) < TYPING_INTERVAL_MS) return false;
    this.typingSeen.set(key, now);
    if (this.typingSeen.size > 10_000) this.typingSeen.clear();
    return true;
  }

  private broadcast(bytes: Buffer, userIds?: string[]): void {
    const sets = userIds ? userIds.map((u) => this.byUser.get(u) ?? new Set<Connection>()) : this.byUser.values();
    for (const set of sets) for (const c of set) if (c.ready) this.send(c, bytes);
  }

  /** Pings every socket; one that did not answer the previous ping is dropped. */
  private beat(): void {
    for (const set of this.byUser.values()) {
      for (const c of set) {
        if (!c.alive) {
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.ws.ping();
      }
    }
  }

  /** Closes every socket with 1001 (going away), for shutdown: clients reconnect elsewhere and resync. */
  closeAll(): void {
    for (const set of this.byUser.values()) for (const c of set) c.ws.close(CLOSE.goingAway, 'server_shutdown');
  }

  close(): void {
    clearInterval(this.heartbeat);
    clearInterval(this.sessionCheck);
    for (const entry of this.callSessions.values()) clearTimeout(entry.timer);
    for (const off of this.offs) off();
  }
}

/** Sends a close frame, and cuts the connection shortly after whether or not the client answers. */
function closeNow(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
  setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
}

function add<K>(map: Map<K, Set<Connection>>, key: K, conn: Connection): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(conn);
}

function remove<K>(map: Map<K, Set<Connection>>, key: K, conn: Connection): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(conn);
  if (set.size === 0) map.delete(key);
}
