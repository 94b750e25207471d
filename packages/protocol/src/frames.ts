import type { ChatEvent, Changes, Presence, SyncCursor, UserEvent } from './api/sync.ts';
import type { Message } from './api/messages.ts';

/** The WebSocket subprotocol; a browser sends the access token as a second one: `parley.token.<accessToken>`. */
export const WS_PROTOCOL = 'parley.v1';
export const WS_TOKEN_PREFIX = 'parley.token.';
export const WS_PATH = '/api/v1/ws';

/** Close codes the server uses; a client reconnects (and resyncs) unless the code says not to. */
export const CLOSE = {
  /** the server is shutting down: reconnect to another node */
  goingAway: 1001,
  /** a frame that is not valid JSON or not a known request */
  badFrame: 4000,
  /** the session ended (logout, terminated, expired): do not reconnect with these tokens */
  sessionEnded: 4001,
  /** the client read too slowly and its buffer overflowed: reconnect and resync from the cursor */
  slowConsumer: 4008,
  /** no pong to the server's pings */
  timeout: 4010,
} as const;

/** Frames a client sends. Requests carry an `id` that the reply echoes. */
export type ClientFrame =
  | { type: 'send'; id: string; chatId: string; text: string; clientMessageId: string; replyToId?: string }
  | ({ type: 'sync'; id: string; limit?: number } & SyncCursor)
  | { type: 'read'; id: string; chatId: string; seq: number }
  | { type: 'typing'; chatId: string }
  | { type: 'ping'; id: string };

/** Frames the server sends. */
export type ServerFrame =
  | { type: 'hello'; userId: string; sessionId: string; heartbeatMs: number }
  | { type: 'event'; event: ChatEvent | UserEvent }
  | { type: 'ack'; id: string; message?: Message; readSeq?: number; unreadCount?: number }
  | ({ type: 'changes'; id: string } & Changes)
  | { type: 'error'; id?: string; error: { code: string; message: string } }
  | ({ type: 'presence' } & Presence)
  | { type: 'typing'; chatId: string; userId: string }
  | { type: 'pong'; id: string }
  /** this node may have missed changes to deliver (its bus was down): send `sync` with your cursor */
  | { type: 'resync' };
