import { ClientFrameBodies, type ClientFrameType, type ServerFrame } from '@parley/protocol';
import type { Static, TObject } from 'typebox';
import { AppError } from '../lib/errors.ts';
import { createValidator } from '../lib/validator.ts';
import { acceptCall, declineCall, hangupCall, inviteCall, resumeCall, signalCall } from '../modules/calls/calls.ts';
import { typing } from '../modules/chats/typing.ts';
import { markRead } from '../modules/messages/read.ts';
import { sendMessage } from '../modules/messages/send.ts';
import type { Actor, Services } from '../modules/services.ts';
import { getChanges } from '../modules/sync/sync.ts';

/** What a frame handler gets: the validated body, the actor, and the request id to echo. */
export interface FrameRequest<B extends TObject> {
  s: Services;
  actor: Actor;
  input: Static<B>;
  /** the id the client gave (undefined when it gave none or an unusable one: the reply then has none) */
  id: string;
}

export interface FrameRoute<B extends TObject> {
  schema: B;
  /** The reply to send, or nothing for frames that are not answered. */
  handler: (req: FrameRequest<B>) => Promise<ServerFrame | void> | ServerFrame | void;
}

type FrameTable = { [K in ClientFrameType]: FrameRoute<(typeof ClientFrameBodies)[K]> };

/** Every client frame type, its body schema (from the protocol) and what answers it: the gateway's counterpart of route(). */
export const FRAMES: FrameTable = {
  send: {
    schema: ClientFrameBodies.send,
    handler: async ({ s, actor, input, id }) => ({ type: 'ack', id, message: await sendMessage(s, actor, input) }),
  },
  read: {
    schema: ClientFrameBodies.read,
    handler: async ({ s, actor, input, id }) => ({ type: 'ack', id, ...(await markRead(s, actor, input)) }),
  },
  sync: {
    schema: ClientFrameBodies.sync,
    handler: async ({ s, actor, input, id }) => ({ type: 'changes', id, ...(await getChanges(s, actor, input)) }),
  },
  typing: {
    schema: ClientFrameBodies.typing,
    handler: async ({ s, actor, input }) => typing(s, actor, input.chatId),
  },
  ping: {
    schema: ClientFrameBodies.ping,
    handler: ({ id }) => ({ type: 'pong', id }),
  },
  'call.invite': {
    schema: ClientFrameBodies['call.invite'],
    handler: async ({ s, actor, input, id }) => ({ type: 'call.ringing', id, ...(await inviteCall(s, actor, input)) }),
  },
  'call.accept': {
    schema: ClientFrameBodies['call.accept'],
    handler: async ({ s, actor, input, id }) => {
      await acceptCall(s, actor, input);
      return { type: 'ack', id };
    },
  },
  'call.signal': {
    schema: ClientFrameBodies['call.signal'],
    handler: async ({ s, actor, input }) => signalCall(s, actor, input),
  },
  'call.decline': {
    schema: ClientFrameBodies['call.decline'],
    handler: async ({ s, actor, input, id }) => {
      await declineCall(s, actor, input);
      return { type: 'ack', id };
    },
  },
  'call.resume': {
    schema: ClientFrameBodies['call.resume'],
    handler: async ({ s, actor, input, id }) => ({ type: 'call.resumed', id, ...(await resumeCall(s, actor, input)) }),
  },
  'call.hangup': {
    schema: ClientFrameBodies['call.hangup'],
    handler: async ({ s, actor, input, id }) => {
      await hangupCall(s, actor, input);
      return { type: 'ack', id };
    },
  },
};

export function isFrameType(type: string): type is ClientFrameType {
  return Object.hasOwn(FRAMES, type);
}

const compile = createValidator({ coerceTypes: false, useDefaults: false });
const validators = new Map(Object.entries(FRAMES).map(([type, route]) => [type, compile(route.schema)]));

/** Checks a frame body against its schema; the first problem becomes a 400-style error frame. */
export function validateFrameBody(type: ClientFrameType, body: unknown): void {
  const validate = validators.get(type)!;
  if (validate(body)) return;
  const first = validate.errors?.[0];
  const params = first?.params as { missingProperty?: string; additionalProperty?: string } | undefined;
  const field = first?.instancePath ? first.instancePath.slice(1) : (params?.missingProperty ?? params?.additionalProperty ?? '');
  throw new AppError('invalid_request', `Invalid frame: ${field ? `"${field}" ` : ''}${first?.message ?? 'is invalid'}`);
}
