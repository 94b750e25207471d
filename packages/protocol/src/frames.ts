import { Type, type Static } from 'typebox';
import { Id, Strict } from './common.ts';
import { Changes, ChatEvent, getChanges, Presence, UserEvent } from './api/sync.ts';
import { markRead, Message, sendMessage } from './api/messages.ts';

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
  /** nobody refreshed the session's access token before it expired: refresh, then reconnect and resync */
  tokenExpired: 4002,
  /** the client read too slowly and its buffer overflowed: reconnect and resync from the cursor */
  slowConsumer: 4008,
  /** no pong to the server's pings */
  timeout: 4010,
  /** the user or the session already has as many sockets open as the server allows: close one first */
  tooManySockets: 4029,
} as const;

/** The id a request frame carries and its reply echoes, chosen by the client. */
export const RequestId = Type.String({ minLength: 1, maxLength: 64, description: 'Chosen by the client; the reply echoes it' });

const ChatId = Strict({ chatId: Id });

/**
 * What each client frame carries besides `type` and `id`: a request is held to the rules of the
 * HTTP operation it mirrors, its path params included (e.g. `{ type: 'send', id: 'r1', chatId, text, clientMessageId }`).
 */
export const ClientFrameBodies = {
  send: Strict({ ...ChatId.properties, ...sendMessage.body!.properties }, 'sendMessage over the socket; answered with ack (message)'),
  sync: Strict({ ...getChanges.body!.properties }, 'getChanges over the socket; answered with changes'),
  read: Strict({ ...ChatId.properties, ...markRead.body!.properties }, 'markRead over the socket; answered with ack (readSeq, unreadCount)'),
  typing: Strict({ ...ChatId.properties }, 'I am typing in this chat; not answered, at most one a second counts'),
  ping: Strict({}, 'Answered with pong'),
};
export type ClientFrameType = keyof typeof ClientFrameBodies;

const B = ClientFrameBodies;
export const SendFrame = Strict({ type: Type.Literal('send'), id: RequestId, ...B.send.properties }, 'Send a message');
export const SyncFrame = Strict({ type: Type.Literal('sync'), id: RequestId, ...B.sync.properties }, 'Ask for what changed since a cursor');
export const ReadFrame = Strict({ type: Type.Literal('read'), id: RequestId, ...B.read.properties }, 'Mark a chat read up to a position');
export const TypingFrame = Strict({ type: Type.Literal('typing'), ...B.typing.properties }, 'I am typing');
export const PingFrame = Strict({ type: Type.Literal('ping'), id: RequestId }, 'Are you there');

/** Frames a client sends. Requests carry an `id` that the reply echoes. */
export const ClientFrame = Type.Union([SendFrame, SyncFrame, ReadFrame, TypingFrame, PingFrame]);
export type ClientFrame = Static<typeof ClientFrame>;

export const HelloFrame = Strict(
  { type: Type.Literal('hello'), userId: Id, sessionId: Id, heartbeatMs: Type.Integer({ minimum: 1, description: 'How often the server pings' }) },
  'The first frame on every socket',
);
export const EventFrame = Strict({ type: Type.Literal('event'), event: Type.Union([ChatEvent, UserEvent]) }, 'A change, live');
export const AckFrame = Strict(
  {
    type: Type.Literal('ack'),
    id: RequestId,
    message: Type.Optional(Message),
    readSeq: Type.Optional(Type.Integer({ minimum: 0 })),
    unreadCount: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  'The reply to send (message) or read (readSeq, unreadCount)',
);
export const ChangesFrame = Strict({ type: Type.Literal('changes'), id: RequestId, ...Changes.properties }, 'The reply to sync');
export const ErrorFrame = Strict(
  { type: Type.Literal('error'), id: Type.Optional(RequestId), error: Strict({ code: Type.String(), message: Type.String() }) },
  'A request failed (with its id), or a frame could not be read (without one)',
);
export const PresenceFrame = Strict({ type: Type.Literal('presence'), ...Presence.properties }, 'A contact went online or offline');
export const TypingNoticeFrame = Strict({ type: Type.Literal('typing'), chatId: Id, userId: Id }, 'Someone is typing in a chat');
export const PongFrame = Strict({ type: Type.Literal('pong'), id: RequestId }, 'The reply to ping');
export const ResyncFrame = Strict(
  { type: Type.Literal('resync') },
  'This node may have missed changes to deliver (its bus was down): send sync with your cursor',
);

/** Frames the server sends. */
export const ServerFrame = Type.Union([HelloFrame, EventFrame, AckFrame, ChangesFrame, ErrorFrame, PresenceFrame, TypingNoticeFrame, PongFrame, ResyncFrame]);
export type ServerFrame = Static<typeof ServerFrame>;
