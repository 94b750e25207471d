import { Type, type Static } from 'typebox';
import { Id, Strict } from './common.ts';
import { Changes, ChatEvent, getChanges, Presence, UserEvent } from './api/sync.ts';
import { markRead, Message, sendMessage } from './api/messages.ts';
import { User } from './api/account.ts';

/** The id a request frame carries and its reply echoes, chosen by the client. */
export const RequestId = Type.String({ minLength: 1, maxLength: 64, description: 'Chosen by the client; the reply echoes it' });

const ChatId = Strict({ chatId: Id });

/** An SDP offer or answer as WebRTC hands it over (RTCSessionDescriptionInit). The server relays it and never reads or logs it. */
export const SessionDescription = Strict(
  {
    type: Type.Union([Type.Literal('offer'), Type.Literal('answer')]),
    sdp: Type.String({ minLength: 1, maxLength: 32_768, description: 'The SDP text' }),
  },
  'An SDP offer or answer',
);
export type SessionDescription = Static<typeof SessionDescription>;

/** A trickled ICE candidate as WebRTC hands it over (RTCIceCandidateInit); an empty candidate marks the end of candidates. */
export const IceCandidate = Strict(
  {
    candidate: Type.String({ maxLength: 1024 }),
    sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 255 }), Type.Null()])),
    usernameFragment: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
  },
  'An ICE candidate',
);
export type IceCandidate = Static<typeof IceCandidate>;

/** A STUN or TURN server for RTCPeerConnection's iceServers; TURN entries carry short-lived credentials minted for me. */
export const IceServer = Strict(
  {
    urls: Type.Array(Type.String({ maxLength: 512 }), { description: 'stun:, turn: or turns: URLs' }),
    username: Type.Optional(Type.String({ description: 'TURN REST username: "<unix expiry>:<userId>"' })),
    credential: Type.Optional(Type.String({ description: 'base64(HMAC-SHA1(secret, username)); valid until the expiry in the username' })),
  },
  'An ICE server',
);
export type IceServer = Static<typeof IceServer>;

const CallId = Strict({ callId: Id });

/** Why a call ended. */
export const CALL_END_REASONS = ['declined', 'busy', 'missed', 'hangup', 'failed', 'gone'] as const;
export const CallEndReason = Type.Enum(CALL_END_REASONS, {
  description:
    'declined: the callee said no; busy: the callee was in another call; missed: nobody answered in time (or the caller gave up first); hangup: one side ended it; failed: a client could not connect; gone: a device went away',
});
export type CallEndReason = Static<typeof CallEndReason>;

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
  'call.invite': Strict(
    {
      ...ChatId.properties,
      callId: Type.Optional(Id),
      offer: SessionDescription,
    },
    'Call the other member of a private chat; answered with call.ringing (callId, iceServers), or an error (call_exists, callee_busy)',
  ),
  'call.accept': Strict({ ...CallId.properties, answer: SessionDescription }, 'Answer a ringing call from this device; answered with ack, or call_not_ringing'),
  'call.signal': Strict(
    {
      ...CallId.properties,
      ice: Type.Optional(Type.Union([IceCandidate, Type.Null()], { description: 'a trickled candidate (null: no more candidates)' })),
      sdp: Type.Optional(SessionDescription),
    },
    'A trickled ICE candidate or a renegotiation (ICE restart) for the peer device only; exactly one of ice and sdp; not answered unless it fails',
  ),
  'call.resume': Strict(
    { ...CallId.properties },
    'After a reconnect (to any node), within the grace: take my call back on this device; answered with call.resumed, then restart ICE',
  ),
  'call.decline': Strict({ ...CallId.properties }, 'Refuse a ringing call (every device of mine stops ringing); answered with ack'),
  'call.hangup': Strict(
    { ...CallId.properties, reason: Type.Optional(Type.Union([Type.Literal('hangup'), Type.Literal('failed')])) },
    'End my call, ringing or active (failed: the media could not connect); answered with ack',
  ),
};
export type ClientFrameType = keyof typeof ClientFrameBodies;

const B = ClientFrameBodies;
export const SendFrame = Strict({ type: Type.Literal('send'), id: RequestId, ...B.send.properties }, 'Send a message');
export const SyncFrame = Strict({ type: Type.Literal('sync'), id: RequestId, ...B.sync.properties }, 'Ask for what changed since a cursor');
export const ReadFrame = Strict({ type: Type.Literal('read'), id: RequestId, ...B.read.properties }, 'Mark a chat read up to a position');
export const TypingFrame = Strict({ type: Type.Literal('typing'), ...B.typing.properties }, 'I am typing');
export const PingFrame = Strict({ type: Type.Literal('ping'), id: RequestId }, 'Are you there');
export const CallInviteFrame = Strict({ type: Type.Literal('call.invite'), id: RequestId, ...B['call.invite'].properties }, 'Start a call');
export const CallAcceptFrame = Strict({ type: Type.Literal('call.accept'), id: RequestId, ...B['call.accept'].properties }, 'Answer a call');
export const CallSignalFrame = Strict(
  { type: Type.Literal('call.signal'), id: Type.Optional(RequestId), ...B['call.signal'].properties },
  'ICE or SDP for the peer device',
);
export const CallDeclineFrame = Strict({ type: Type.Literal('call.decline'), id: RequestId, ...B['call.decline'].properties }, 'Refuse a call');
export const CallResumeFrame = Strict(
  { type: Type.Literal('call.resume'), id: RequestId, ...B['call.resume'].properties },
  'Take a call back after a reconnect',
);
export const CallHangupFrame = Strict({ type: Type.Literal('call.hangup'), id: RequestId, ...B['call.hangup'].properties }, 'End a call');

/** Frames a client sends. Requests carry an `id` that the reply echoes. */
export const ClientFrame = Type.Union([
  SendFrame,
  SyncFrame,
  ReadFrame,
  TypingFrame,
  PingFrame,
  CallInviteFrame,
  CallAcceptFrame,
  CallSignalFrame,
  CallDeclineFrame,
  CallHangupFrame,
  CallResumeFrame,
]);
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
export const ProfileFrame = Strict(
  { type: Type.Literal('profile'), user: User },
  'Someone I share a private chat or a group with (or I, on another device) changed their display name or picture',
);
export const PongFrame = Strict({ type: Type.Literal('pong'), id: RequestId }, 'The reply to ping');
export const ResyncFrame = Strict(
  { type: Type.Literal('resync') },
  'This node may have missed changes to deliver (its bus was down): send sync with your cursor',
);

const Party = Strict({ userId: Id, sessionId: Id }, 'A user and the device (session) they call from or answered on');

export const CallRingingFrame = Strict(
  { type: Type.Literal('call.ringing'), id: RequestId, callId: Id, chatId: Id, iceServers: Type.Array(IceServer) },
  "The reply to call.invite: the call is recorded and rings on the callee's devices; iceServers for my RTCPeerConnection",
);
export const CallResumedFrame = Strict(
  {
    type: Type.Literal('call.resumed'),
    id: RequestId,
    callId: Id,
    chatId: Id,
    state: Type.Union([Type.Literal('ringing'), Type.Literal('active')]),
    peer: Type.Union([Party, Type.Null()], { description: "the other side's device (null while the call rings on the callee's devices)" }),
    iceServers: Type.Array(IceServer),
  },
  "The reply to call.resume: the call is this device's again; fresh iceServers for the ICE restart",
);
export const CallIncomingFrame = Strict(
  { type: Type.Literal('call.incoming'), callId: Id, chatId: Id, from: Party, offer: SessionDescription, iceServers: Type.Array(IceServer) },
  'A call rings: to every device of the callee, with ICE servers minted for the callee',
);
export const CallStateFrame = Strict(
  {
    type: Type.Literal('call.state'),
    callId: Id,
    chatId: Id,
    state: Type.Union([Type.Literal('ringing'), Type.Literal('active'), Type.Literal('answered_elsewhere')], {
      description:
        'ringing / active: a call of mine placed or answered from another of my devices; answered_elsewhere: another of my devices answered it, stop ringing',
    }),
  },
  'What my other devices did with a call',
);
export const CallAcceptedFrame = Strict(
  { type: Type.Literal('call.accepted'), callId: Id, by: Party, answer: SessionDescription },
  "The callee answered: to the caller's device only, with the answer",
);
export const CallSignalNoticeFrame = Strict(
  {
    type: Type.Literal('call.signal'),
    callId: Id,
    from: Party,
    ice: Type.Optional(Type.Union([IceCandidate, Type.Null()])),
    sdp: Type.Optional(SessionDescription),
  },
  "The peer device's ICE candidate or SDP (renegotiation), for this device only",
);
export const CallEndedFrame = Strict(
  {
    type: Type.Literal('call.ended'),
    callId: Id,
    chatId: Id,
    reason: CallEndReason,
    by: Type.Union([Id, Type.Null()], { description: 'who ended it (null: the server, for missed and gone)' }),
  },
  'The call is over: to every device of both users',
);

/** The call frames a server sends to some devices (through the bus, to sessions or users). */
export const CallNotice = Type.Union([CallIncomingFrame, CallStateFrame, CallAcceptedFrame, CallSignalNoticeFrame, CallEndedFrame]);
export type CallNotice = Static<typeof CallNotice>;

/** Frames the server sends. */
export const ServerFrame = Type.Union([
  HelloFrame,
  EventFrame,
  AckFrame,
  ChangesFrame,
  ErrorFrame,
  PresenceFrame,
  TypingNoticeFrame,
  ProfileFrame,
  PongFrame,
  ResyncFrame,
  CallRingingFrame,
  CallResumedFrame,
  CallIncomingFrame,
  CallStateFrame,
  CallAcceptedFrame,
  CallSignalNoticeFrame,
  CallEndedFrame,
]);
export type ServerFrame = Static<typeof ServerFrame>;
