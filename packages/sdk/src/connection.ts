import type { ClientFrame, ServerFrame } from '@parley/protocol';
import { CLOSE, WS_PATH, WS_PROTOCOL, WS_TOKEN_PREFIX } from '@parley/protocol/constants';
import { newClientId } from './client-id.ts';
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

export type ConnectionState = 'connecting' | 'online' | 'offline' | 'ended';

export type HelloFrame = Extract<ServerFrame, { type: 'hello' }>;

/** What the connection tells its owner. */
export interface ConnectionEvents {
  /** A new socket was greeted by the server: the connection is online */
  onHello(frame: HelloFrame): void;
  /** Any other frame the server sent */
  onFrame(frame: Exclude<ServerFrame, HelloFrame>): void;
  /** The socket is gone (closed, or silent for too long): requests written on it get no answer */
  onLost(): void;
  onState(state: ConnectionState): void;
}

export interface ConnectionOptions {
  client: Pick<ParleyClient, 'baseUrl' | 'session' | 'ensureFresh' | 'refresh'>;
  /** Required in Node 20 (no global WebSocket): `WebSocket` from the `ws` package */
  WebSocket?: WebSocketFactory;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  events: ConnectionEvents;
}

/** `readyState` of a socket that can be written to */
const OPEN = 1;

/**
 * One WebSocket at a time to the gateway, authenticated by the access token as a subprotocol,
 * opened again after it drops (exponential backoff with jitter) until closed or the session ends.
 * @example
 *   const connection = new Connection({ client, WebSocket, events });
 *   connection.start();
 *   connection.write({ type: 'typing', chatId });
 */
export class Connection {
  private readonly client: ConnectionOptions['client'];
  private readonly Impl: WebSocketFactory;
  private readonly events: ConnectionEvents;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private ws: WebSocketLike | null = null;
  private stateValue: ConnectionState = 'offline';
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  /** Checks that the socket still hears from the server (see watch). */
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private heardAt = 0;

  constructor(options: ConnectionOptions) {
    const Impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
    if (!Impl) throw new Error('No WebSocket implementation: pass options.WebSocket (the "ws" package in Node 20)');
    this.Impl = Impl;
    this.client = options.client;
    this.events = options.events;
    this.minBackoff = options.minBackoffMs ?? 500;
    this.maxBackoff = options.maxBackoffMs ?? 30_000;
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The socket in use (null without one, or once stopped), to tell later whether it is still the same one. */
  current(): object | null {
    return this.stopped ? null : this.ws;
  }

  /** Opens a socket, and again whenever it drops, until close(). */
  start(): void {
    this.stopped = false;
    void this.open();
  }

  /** Closes the socket and stops reconnecting. */
  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.unwatch();
    this.ws?.close(1000, 'bye');
    this.ws = null;
    this.setState('offline');
  }

  /** Writes a frame if a socket is open; false when it could not be written. */
  write(frame: ClientFrame): boolean {
    if (!this.ws || this.ws.readyState !== OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private setState(state: ConnectionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    this.events.onState(state);
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
    this.listen(ws);
  }

  private listen(ws: WebSocketLike): void {
    let opened = false;
    ws.onopen = () => {
      opened = true;
    };
    ws.onmessage = (ev) => {
      this.heardAt = Date.now();
      this.receive(String(ev.data));
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

  private receive(text: string): void {
    // The server's frames follow the protocol's schemas (ServerFrame); a frame of an unknown type is ignored.
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    if (frame.type !== 'hello') return this.events.onFrame(frame);
    this.attempts = 0;
    if (this.ws && typeof frame.heartbeatMs === 'number' && frame.heartbeatMs > 0) this.watch(this.ws, frame.heartbeatMs);
    this.setState('online');
    this.events.onHello(frame);
  }

  /** The socket is gone (closed, or silent for too long): it is let go, and the owner told. */
  private lost(): void {
    this.ws = null;
    this.unwatch();
    this.events.onLost();
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
    this.timer = setTimeout(() => void this.open(), delay);
  }
}
