import type { WebSocket } from 'ws';
import { CLOSE, api, type ClientFrame } from '@parley/protocol';
import { AppError } from '../errors.ts';
import type { AppContext } from '../context.ts';
import type { Actor } from '../services.ts';
import { DELIVER, type Delivery } from '../modules/sync/log.ts';
import { markRead } from '../modules/messages/messages.ts';
import { sendMessage } from '../modules/messages/send.ts';
import { getChanges } from '../modules/sync/sync.ts';
import { memberIds, requireMember } from '../modules/chats/access.ts';
import { compileFrameValidator } from './frame-validators.ts';

/** The default ping interval; PARLEY_WS_HEARTBEAT sets it. */
export const HEARTBEAT_MS = 25_000;

/** One open socket: kept small, since a node holds many of them. */
interface Connection {
  ws: WebSocket;
  actor: Actor;
  alive: boolean;
}

const validators = {
  send: compileFrameValidator(api.sendMessage.body, ['chatId']),
  sync: compileFrameValidator(api.getChanges.body),
  read: compileFrameValidator(api.markRead.body, ['chatId']),
};

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
  private readonly typingSeen = new Map<string, number>();

  constructor(ctx: AppContext) {
    this.ctx = ctx;
    this.offs.push(ctx.bus.subscribe(DELIVER, (d: Delivery) => this.deliver(d)));
    this.offs.push(
      ctx.tokens.onRevoked((sessionIds) => {
        for (const id of sessionIds) {
          for (const c of this.bySession.get(id) ?? []) c.ws.close(CLOSE.sessionEnded, 'session_ended');
        }
      }),
    );
    // Deliveries from other nodes may have been lost while the bus was down: every socket fetches what it missed.
    this.offs.push(ctx.bus.onRecovered(() => this.broadcast(JSON.stringify({ type: 'resync' }))));
    this.heartbeat = setInterval(() => this.beat(), ctx.config.ws.heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  attach(ws: WebSocket, actor: Actor): void {
    const conn: Connection = { ws, actor, alive: true };
    add(this.byUser, actor.userId, conn);
    add(this.bySession, actor.sessionId, conn);
    this.ctx.metrics.wsConnections.inc();
    this.ctx.presence.connected(actor.userId);
    ws.on('pong', () => {
      conn.alive = true;
    });
    ws.on('message', (data, isBinary) => {
      conn.alive = true;
      if (isBinary) return this.fail(conn, undefined, new AppError('invalid_request', 'Frames must be JSON text'));
      void this.onFrame(conn, data.toString());
    });
    ws.on('close', () => {
      remove(this.byUser, actor.userId, conn);
      remove(this.bySession, actor.sessionId, conn);
      this.ctx.metrics.wsConnections.dec();
      this.ctx.presence.disconnected(actor.userId);
    });
    this.send(conn, JSON.stringify({ type: 'hello', userId: actor.userId, sessionId: actor.sessionId, heartbeatMs: this.ctx.config.ws.heartbeatMs }));
  }

  /** Writes a frame, or drops a consumer that has fallen too far behind (it resyncs from its cursor). */
  private send(conn: Connection, frame: string | Buffer): void {
    const ws = conn.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.ctx.config.ws.maxBufferBytes) {
      this.ctx.metrics.slowConsumers.inc();
      ws.close(CLOSE.slowConsumer, 'slow_consumer');
      // A consumer that does not read will not read the close frame either.
      setTimeout(() => ws.terminate(), 5000).unref();
      return;
    }
    // A Buffer is sent as a text frame too: the frames are JSON, encoded once by the caller.
    ws.send(frame, { binary: false });
  }

  private deliver(d: Delivery): void {
    let sent = 0;
    // Encoded once for every recipient, instead of once per socket by ws.
    let bytes: Buffer | undefined;
    for (const userId of d.userIds) {
      const conns = this.byUser.get(userId);
      if (!conns) continue;
      bytes ??= Buffer.from(d.frame);
      for (const c of conns) {
        this.send(c, bytes);
        sent++;
      }
    }
    if (sent > 0) this.ctx.metrics.eventsDelivered.inc(sent);
  }

  private fail(conn: Connection, id: string | undefined, err: unknown): void {
    const e = err instanceof AppError ? err : null;
    if (!e) this.ctx.log.error({ err, userId: conn.actor.userId }, 'socket request failed');
    const error = e ? { code: e.code, message: e.message } : { code: 'internal_error', message: 'Something went wrong on the server' };
    this.send(conn, JSON.stringify({ type: 'error', ...(id ? { id } : {}), error }));
  }

  private async onFrame(conn: Connection, text: string): Promise<void> {
    let frame: ClientFrame & { id?: string };
    try {
      frame = JSON.parse(text);
    } catch {
      return this.fail(conn, undefined, new AppError('invalid_json', 'The frame is not valid JSON'));
    }
    if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') {
      return this.fail(conn, undefined, new AppError('invalid_request', 'A frame needs a "type"'));
    }
    const id = typeof frame.id === 'string' && frame.id.length <= 64 ? frame.id : undefined;
    const actor = conn.actor;
    try {
      switch (frame.type) {
        case 'ping':
          return this.send(conn, JSON.stringify({ type: 'pong', id }));
        case 'send': {
          const { type: _t, id: _i, ...input } = frame;
          validators.send(input);
          const message = await sendMessage(this.ctx, actor, input as any);
          return this.send(conn, JSON.stringify({ type: 'ack', id, message }));
        }
        case 'read': {
          const { type: _t, id: _i, ...input } = frame;
          validators.read(input);
          const result = await markRead(this.ctx, actor, input as any);
          return this.send(conn, JSON.stringify({ type: 'ack', id, ...result }));
        }
        case 'sync': {
          const { type: _t, id: _i, ...input } = frame;
          validators.sync(input);
          const changes = await getChanges(this.ctx, actor, input as any);
          return this.send(conn, JSON.stringify({ type: 'changes', id, ...changes }));
        }
        case 'typing':
          return await this.typing(conn, (frame as { chatId?: unknown }).chatId);
        default:
          return this.fail(conn, id, new AppError('invalid_request', `Unknown frame type "${String((frame as { type: unknown }).type).slice(0, 32)}"`));
      }
    } catch (err) {
      this.fail(conn, id, err);
    }
  }

  /** Typing indicators go to the other members' sockets and are never stored; at most one a second per chat. */
  private async typing(conn: Connection, chatId: unknown): Promise<void> {
    if (typeof chatId !== 'string' || chatId.length > 64) throw new AppError('invalid_request', 'typing needs a "chatId"');
    const key = `${conn.actor.userId}:${chatId}`;
    const now = Date.now();
    if (now - (this.typingSeen.get(key) ?? 0) < 1000) return;
    this.typingSeen.set(key, now);
    if (this.typingSeen.size > 10_000) this.typingSeen.clear();
    const db = this.ctx.db;
    await requireMember(db, db.kysely, chatId, conn.actor.userId);
    const others = (await memberIds(db.kysely, chatId)).filter((u) => u !== conn.actor.userId);
    this.ctx.bus.publish(DELIVER, { userIds: others, frame: JSON.stringify({ type: 'typing', chatId, userId: conn.actor.userId }) } satisfies Delivery);
  }

  private broadcast(frame: string): void {
    const bytes = Buffer.from(frame);
    for (const set of this.byUser.values()) for (const c of set) this.send(c, bytes);
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
    for (const off of this.offs) off();
  }
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
