import type { AttachmentInput, ClientFrame, Message, ServerFrame } from '@parley/protocol';
import { newClientId } from './client-id.ts';
import { ParleyError } from './errors.ts';

export interface PendingMessage {
  clientMessageId: string;
  chatId: string;
  text: string;
  replyToId?: string;
  /** Finished uploads the message carries */
  attachments?: AttachmentInput[];
  state: 'pending' | 'sent' | 'failed';
  error?: { code: string; message: string };
  message?: Message;
}

/** What a message to send names; without a clientMessageId it gets a new one. */
export interface SendInput {
  chatId: string;
  text: string;
  replyToId?: string;
  attachments?: AttachmentInput[];
  clientMessageId?: string;
}

export type SendFrame = Extract<ClientFrame, { type: 'send' }>;

/** The frames that answer a request, matched to it by id. */
export type ServerReply = Extract<ServerFrame, { type: 'ack' | 'changes' | 'pong' | 'error' }>;

/** Writes a frame to the socket; false when there is no open socket to write to. */
export type WriteSend = (frame: SendFrame) => boolean;

/**
 * Error codes that sending the same message again cannot fix, so it fails (until retrySend).
 * Anything else (a rate limit, server trouble) keeps it pending, to be sent again.
 */
export const PERMANENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'not_found',
  'invalid_request',
  'message_too_long',
  'cannot_post',
  'forbidden',
  'attachment_unavailable',
]);

/**
 * What a reply did to a message of mine: `sent` (acked, and gone from the outbox), `failed` (for
 * good), `retry` (still pending: send it again later) or `none` (a reply that settles nothing).
 */
export interface Settled {
  outcome: 'sent' | 'failed' | 'retry' | 'none';
  message: PendingMessage;
}

interface Entry extends PendingMessage {
  resolve(message: Message): void;
  reject(error: Error): void;
  /** The id of the last send frame written, which its ack or error echoes */
  frameId?: string;
}

/**
 * The messages I sent that the server has not acknowledged. Each keeps its clientMessageId across
 * every resend, so the server stores it once however often it arrives.
 * @example
 *   const { acked } = outbox.add({ chatId, text: 'hi' });
 *   outbox.transmitPending(write); // on every (re)connect
 */
export class Outbox {
  private readonly entries = new Map<string, Entry>();

  /** Adds a pending message; `acked` settles with the stored message or the permanent error. */
  add(input: SendInput): { message: PendingMessage; acked: Promise<Message> } {
    const clientMessageId = input.clientMessageId ?? newClientId();
    let resolve!: (m: Message) => void;
    let reject!: (e: Error) => void;
    const acked = new Promise<Message>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // The outbox event reports a failure too; a caller that ignores `acked` gets no unhandled rejection.
    acked.catch(() => {});
    const entry: Entry = {
      clientMessageId,
      chatId: input.chatId,
      text: input.text,
      replyToId: input.replyToId,
      attachments: input.attachments,
      state: 'pending',
      resolve,
      reject,
    };
    this.entries.set(clientMessageId, entry);
    return { message: snapshot(entry), acked };
  }

  /** Writes a pending message in a new send frame; a failed or unknown one is left alone. */
  transmit(clientMessageId: string, write: WriteSend): void {
    const entry = this.entries.get(clientMessageId);
    if (!entry || entry.state !== 'pending') return;
    const frame: SendFrame = {
      type: 'send',
      id: newClientId(),
      chatId: entry.chatId,
      text: entry.text,
      clientMessageId: entry.clientMessageId,
      ...(entry.replyToId ? { replyToId: entry.replyToId } : {}),
      ...(entry.attachments?.length ? { attachments: entry.attachments } : {}),
    };
    // Not written (no socket): the next connection sends it, and an earlier frame's reply still counts.
    if (write(frame)) entry.frameId = frame.id;
  }

  /** Writes every pending message again (a new socket knows nothing of frames sent before). */
  transmitPending(write: WriteSend): void {
    for (const id of [...this.entries.keys()]) this.transmit(id, write);
  }

  /** Makes a message pending again (after it failed); undefined for one not in the outbox. */
  retry(clientMessageId: string): PendingMessage | undefined {
    const entry = this.entries.get(clientMessageId);
    if (!entry) return undefined;
    Object.assign(entry, { state: 'pending', error: undefined });
    return snapshot(entry);
  }

  /** Applies a reply to the message whose last frame it answers; undefined when it answers none. */
  settle(reply: ServerReply): Settled | undefined {
    const entry = [...this.entries.values()].find((e) => e.frameId !== undefined && e.frameId === reply.id);
    if (!entry) return undefined;
    entry.frameId = undefined;
    if (reply.type === 'ack' && reply.message) {
      Object.assign(entry, { state: 'sent', message: reply.message });
      this.entries.delete(entry.clientMessageId);
      entry.resolve(reply.message);
      return { outcome: 'sent', message: snapshot(entry) };
    }
    if (reply.type === 'error' && PERMANENT_ERROR_CODES.has(reply.error.code)) {
      Object.assign(entry, { state: 'failed', error: reply.error });
      entry.reject(new ParleyError(reply.error.code, reply.error.message, 400));
      return { outcome: 'failed', message: snapshot(entry) };
    }
    // Turned away for now (a rate limit): still pending, with the reason, so a client can say why it waits.
    if (reply.type === 'error') entry.error = reply.error;
    return { outcome: reply.type === 'error' ? 'retry' : 'none', message: snapshot(entry) };
  }

  /** Messages not yet acknowledged (pending or failed). */
  list(): PendingMessage[] {
    return [...this.entries.values()].map(snapshot);
  }
}

/** A copy without the promise's callbacks or the frame id, for listeners and callers. */
function snapshot(p: PendingMessage): PendingMessage {
  const { clientMessageId, chatId, text, replyToId, attachments, state, error, message } = p;
  return { clientMessageId, chatId, text, replyToId, ...(attachments ? { attachments } : {}), state, error, message };
}
