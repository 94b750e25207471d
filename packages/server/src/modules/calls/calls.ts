import type { IceCandidate, IceServer, SessionDescription } from '@parley/protocol';
import { isUniqueViolation } from '../../adapters/db/database.ts';
import type { CallsTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { newId } from '../../lib/ids.ts';
import { requireMember } from '../chats/access.ts';
import { memberIds } from '../chats/chats.store.ts';
import type { Actor, Services } from '../services.ts';
import { commit } from '../sync/unit-of-work.ts';
import {
  claimAnswer,
  expiredRinging,
  findCall,
  inActiveCall,
  insertCall,
  liveCallInChat,
  liveCallsOfEndedSessions,
  liveCallsOfSession,
  rebind,
} from './calls.store.ts';
import { endCall } from './end.ts';
import { iceServersFor } from './turn.ts';

/** Calls ended per sweep statement, so that a sweep never holds much. */
const BATCH = 100;

function callNotFound(callId: string): AppError {
  return new AppError('not_found', `Call "${callId}" was not found`);
}

/** The call, if I take part in it (as caller, or as the callee on any of my devices); else the same 404 as for none. */
async function myCall(s: Services, actor: Actor, callId: string): Promise<CallsTable> {
  const row = await findCall(s.db.kysely, callId);
  if (!row || (row.caller_user !== actor.userId && row.callee_user !== actor.userId)) throw callNotFound(callId);
  return row;
}

export interface InviteInput {
  chatId: string;
  callId?: string;
  offer: SessionDescription;
}

/**
 * Calls the other member of a private chat. The row (ringing) is the call; the unique index on
 * live calls per chat refuses a second one, whichever node it comes to. A callee already in an
 * answered call gets no ring: the call is recorded as busy and the caller told so.
 *
 * Glare (both people call each other at once): the second invite fails with call_exists, naming
 * the call that rings; its device has that call's call.incoming and answers it instead.
 */
export async function inviteCall(s: Services, actor: Actor, input: InviteInput): Promise<{ callId: string; chatId: string; iceServers: IceServer[] }> {
  const db = s.db.kysely;
  const m = await requireMember(db, { chatId: input.chatId, userId: actor.userId });
  if (m.chat.kind !== 'private') throw new AppError('invalid_request', `Only private chats have calls (chat "${input.chatId}" is a ${m.chat.kind} chat)`);
  const calleeId = (await memberIds(db, input.chatId)).find((u) => u !== actor.userId);
  if (!calleeId) throw new AppError('invalid_request', `Nobody else is in chat "${input.chatId}" to call`);
  const callId = input.callId ?? newId();
  const now = s.now();
  const row: CallsTable = {
    id: callId,
    chat_id: input.chatId,
    state: 'ringing',
    caller_user: actor.userId,
    caller_session: actor.sessionId,
    callee_user: calleeId,
    callee_session: null,
    created_at: now,
    ring_expires_at: now + s.config.calls.ringMs,
    answered_at: null,
    ended_at: null,
    end_reason: null,
    caller_bound_at: now,
    callee_bound_at: null,
  };
  const busy = await inActiveCall(db, calleeId);
  try {
    await commit(s, (work) => insertCall(work.tx, { ...row, created_at: work.now, caller_bound_at: work.now }));
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const live = await liveCallInChat(db, input.chatId);
    if (live) throw new AppError('call_exists', `Chat "${input.chatId}" already has a call: "${live.id}"`);
    throw new AppError('call_exists', `Call "${callId}" exists already`);
  }
  if (busy) {
    // Recorded (the history shows it) and over at once: nobody's device rings.
    await endCall(s, { callId, reason: 'busy', by: calleeId, from: ['ringing'] });
    throw new AppError('callee_busy', `The person called is in another call`);
  }
  const from = { userId: actor.userId, sessionId: actor.sessionId };
  s.bus.publish('deliver', {
    userIds: [calleeId],
    call: { type: 'call.incoming', callId, chatId: input.chatId, from, offer: input.offer, iceServers: iceServersFor(s.config.calls, calleeId, now) },
  });
  s.bus.publish('deliver', {
    userIds: [actor.userId],
    exceptSessionId: actor.sessionId,
    call: { type: 'call.state', callId, chatId: input.chatId, state: 'ringing' },
  });
  // This node ends it when nobody answers in time; the cleanup job does it if this node is gone by then.
  setTimeout(() => {
    endCall(s, { callId, reason: 'missed', by: null, from: ['ringing'] }).catch((err) => s.log.debug({ err, callId }, 'ring timeout not applied'));
  }, s.config.calls.ringMs).unref();
  return { callId, chatId: input.chatId, iceServers: iceServersFor(s.config.calls, actor.userId, now) };
}

/**
 * Answers a ringing call from this device: a compare-and-set in the store, so of the callee's
 * devices (on whatever nodes) the first wins; the others stop ringing (answered_elsewhere).
 */
export async function acceptCall(s: Services, actor: Actor, input: { callId: string; answer: SessionDescription }): Promise<void> {
  const call = await myCall(s, actor, input.callId);
  if (call.callee_user !== actor.userId) throw new AppError('invalid_request', `Call "${input.callId}" is yours: only the person called can answer it`);
  await requireMember(s.db.kysely, { chatId: call.chat_id, userId: actor.userId });
  const won = await commit(s, (work) => claimAnswer(work.tx, { callId: input.callId, userId: actor.userId, sessionId: actor.sessionId, now: work.now }));
  if (!won) throw new AppError('call_not_ringing', `Call "${input.callId}" is not ringing any more`);
  const by = { userId: actor.userId, sessionId: actor.sessionId };
  s.bus.publish('deliver', {
    userIds: [won.caller_user],
    sessionIds: [won.caller_session],
    call: { type: 'call.accepted', callId: won.id, by, answer: input.answer },
  });
  s.bus.publish('deliver', {
    userIds: [won.caller_user],
    exceptSessionId: won.caller_session,
    call: { type: 'call.state', callId: won.id, chatId: won.chat_id, state: 'active' },
  });
  s.bus.publish('deliver', {
    userIds: [actor.userId],
    exceptSessionId: actor.sessionId,
    call: { type: 'call.state', callId: won.id, chatId: won.chat_id, state: 'answered_elsewhere' },
  });
}

/** Refuses a ringing call, from any device of the callee: it stops ringing on all of them. */
export async function declineCall(s: Services, actor: Actor, input: { callId: string }): Promise<void> {
  const call = await myCall(s, actor, input.callId);
  if (call.callee_user !== actor.userId) throw new AppError('invalid_request', `Call "${input.callId}" is yours: hang up instead`);
  const ended = await endCall(s, { callId: call.id, reason: 'declined', by: actor.userId, from: ['ringing'] });
  if (!ended) throw new AppError('call_not_ringing', `Call "${input.callId}" is not ringing any more`);
}

/**
 * Ends my call: the caller's device while it rings or once answered, the callee's answering
 * device once answered. A call already over is answered as done (both may hang up at once).
 */
export async function hangupCall(s: Services, actor: Actor, input: { callId: string; reason?: 'hangup' | 'failed' }): Promise<void> {
  const call = await myCall(s, actor, input.callId);
  if (call.state === 'ended') return;
  if (actor.sessionId !== call.caller_session && actor.sessionId !== call.callee_session)
    throw new AppError(
      'invalid_request',
      `Call "${input.callId}" is not on this device${call.callee_user === actor.userId && call.state === 'ringing' ? ': decline it' : ''}`,
    );
  await endCall(s, { callId: call.id, reason: input.reason ?? 'hangup', by: actor.userId });
}

export interface SignalInput {
  callId: string;
  ice?: IceCandidate | null;
  sdp?: SessionDescription;
}

/**
 * Relays ICE or SDP to the peer device only. Before the answer the caller's candidates go to
 * every device of the callee (they all ring); the callee's devices speak once one has answered.
 * Never stored, never logged.
 */
export async function signalCall(s: Services, actor: Actor, input: SignalInput): Promise<void> {
  if ((input.ice === undefined) === (input.sdp === undefined)) throw new AppError('invalid_request', 'A call.signal carries exactly one of "ice" and "sdp"');
  const call = await myCall(s, actor, input.callId);
  if (call.state === 'ended') throw new AppError('call_not_ringing', `Call "${input.callId}" is over`);
  const from = { userId: actor.userId, sessionId: actor.sessionId };
  const payload = input.ice !== undefined ? { ice: input.ice } : { sdp: input.sdp };
  const frame = { type: 'call.signal' as const, callId: call.id, from, ...payload };
  if (actor.sessionId === call.caller_session) {
    if (call.state === 'ringing') return void s.bus.publish('deliver', { userIds: [call.callee_user], call: frame });
    return void s.bus.publish('deliver', { userIds: [call.callee_user], sessionIds: [call.callee_session!], call: frame });
  }
  if (call.state === 'active' && actor.sessionId === call.callee_session)
    return void s.bus.publish('deliver', { userIds: [call.caller_user], sessionIds: [call.caller_session], call: frame });
  throw new AppError('invalid_request', `Call "${input.callId}" is not on this device`);
}

export interface ResumedCall {
  callId: string;
  chatId: string;
  state: 'ringing' | 'active';
  /** the other side's device: the caller's, or the answering callee's (null while it rings) */
  peer: { userId: string; sessionId: string } | null;
  iceServers: IceServer[];
}

/**
 * A device that reconnected (to this node or another) takes its call back: its earlier socket's
 * grace no longer ends it. A callee's device that has not answered just learns whether it still
 * rings. The client then restarts ICE (call.signal with a new offer) and gets fresh TURN credentials here.
 */
export async function resumeCall(s: Services, actor: Actor, input: { callId: string }): Promise<ResumedCall> {
  const call = await myCall(s, actor, input.callId);
  if (call.state === 'ended') throw new AppError('call_not_ringing', `Call "${input.callId}" is over`);
  const side = actor.sessionId === call.caller_session ? 'caller' : actor.sessionId === call.callee_session ? 'callee' : null;
  let row = call;
  if (side) {
    const bound = await commit(s, (work) => rebind(work.tx, { callId: call.id, side, sessionId: actor.sessionId, now: work.now }));
    if (!bound) throw new AppError('call_not_ringing', `Call "${input.callId}" is over`);
    row = bound;
  } else if (call.state !== 'ringing' || call.callee_user !== actor.userId) {
    throw new AppError('invalid_request', `Call "${input.callId}" is not on this device`);
  }
  const peer =
    side === 'caller'
      ? row.callee_session
        ? { userId: row.callee_user, sessionId: row.callee_session }
        : null
      : { userId: row.caller_user, sessionId: row.caller_session };
  return {
    callId: row.id,
    chatId: row.chat_id,
    state: row.state as 'ringing' | 'active',
    peer,
    iceServers: iceServersFor(s.config.calls, actor.userId, s.now()),
  };
}

/** Ends, as missed, the calls that rang past their time (any node may run it; each call ends once). */
export async function expireRingingCalls(s: Services): Promise<number> {
  let n = 0;
  for (;;) {
    const ids = await expiredRinging(s.db.kysely, { now: s.now(), limit: BATCH });
    for (const callId of ids) if (await endCall(s, { callId, reason: 'missed', by: null, from: ['ringing'] })) n++;
    if (ids.length < BATCH) return n;
  }
}

/**
 * Ends (gone) the calls of a device that went away: its session ended, or (with `leftAt`) its socket
 * left then and it has not resumed its calls since, on any node.
 */
export async function endCallsOfSession(s: Services, options: { userId: string; sessionId: string; leftAt?: number }): Promise<number> {
  let n = 0;
  for (const callId of await liveCallsOfSession(s.db.kysely, options)) if (await endCall(s, { callId, reason: 'gone', by: null })) n++;
  return n;
}

/** Ends (gone) the calls whose caller's or answering callee's session no longer exists, wherever it ended. */
export async function endCallsOfEndedSessions(s: Services): Promise<number> {
  let n = 0;
  for (;;) {
    const ids = await liveCallsOfEndedSessions(s.db.kysely, BATCH);
    for (const callId of ids) if (await endCall(s, { callId, reason: 'gone', by: null })) n++;
    if (ids.length < BATCH) return n;
  }
}
