import { describe, it, expect } from 'vitest';
import type { Message } from '@parley/protocol';
import { ParleyError } from './errors.ts';
import { Outbox, type SendFrame } from './outbox.ts';

const AT = '2025-01-01T00:00:00.000Z';

function stored(clientMessageId: string): Message {
  const fields = { id: 'm1', chatId: 'c1', seq: 4, senderId: 'u1', kind: 'text' as const, text: 'hi', clientMessageId };
  return { ...fields, replyToId: null, createdAt: AT, editedAt: null, deletedAt: null };
}

/** A socket stand-in that keeps the frames written to it (or refuses them, when closed). */
function recorder(options: { open: boolean } = { open: true }) {
  const frames: SendFrame[] = [];
  const write = (frame: SendFrame) => {
    if (options.open) frames.push(frame);
    return options.open;
  };
  return { frames, write };
}

/** An outbox holding one message, written once. */
function withOneSent() {
  const outbox = new Outbox();
  const { message, acked } = outbox.add({ chatId: 'c1', text: 'hi', clientMessageId: 'cm1' });
  const socket = recorder();
  outbox.transmit(message.clientMessageId, socket.write);
  return { outbox, acked, socket, frameId: socket.frames[0]!.id };
}

describe('outbox', () => {
  it('a new message is pending and gets a clientMessageId', () => {
    const outbox = new Outbox();
    const { message } = outbox.add({ chatId: 'c1', text: 'hi' });
    expect(message.state).toBe('pending');
    expect(message.clientMessageId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(outbox.list()).toEqual([{ clientMessageId: message.clientMessageId, chatId: 'c1', text: 'hi', state: 'pending' }]);
  });

  it('a transmitted message is written as a send frame', () => {
    const outbox = new Outbox();
    outbox.add({ chatId: 'c1', text: 'hi', replyToId: 'm0', clientMessageId: 'cm1' });
    const socket = recorder();
    outbox.transmit('cm1', socket.write);
    expect(socket.frames).toEqual([{ type: 'send', id: socket.frames[0]!.id, chatId: 'c1', text: 'hi', clientMessageId: 'cm1', replyToId: 'm0' }]);
  });

  it('a resent message keeps its clientMessageId', () => {
    const { outbox, socket } = withOneSent();
    outbox.transmitPending(socket.write);
    expect(socket.frames.map((f) => f.clientMessageId)).toEqual(['cm1', 'cm1']);
    expect(socket.frames[0]!.id).not.toBe(socket.frames[1]!.id);
  });

  it('an ack resolves and removes the pending entry', async () => {
    const { outbox, acked, frameId } = withOneSent();
    const settled = outbox.settle({ type: 'ack', id: frameId, message: stored('cm1') });
    expect(settled?.outcome).toBe('sent');
    expect(settled?.message.state).toBe('sent');
    expect(outbox.list()).toEqual([]);
    await expect(acked).resolves.toEqual(stored('cm1'));
  });

  it('a reply is matched to the frame id, not to any message', () => {
    const { outbox } = withOneSent();
    expect(outbox.settle({ type: 'ack', id: 'another-frame', message: stored('cm1') })).toBeUndefined();
    expect(outbox.list().map((m) => m.state)).toEqual(['pending']);
  });

  it('only the last written frame is answered for a message', () => {
    const { outbox, socket, frameId } = withOneSent();
    outbox.transmit('cm1', socket.write);
    expect(outbox.settle({ type: 'ack', id: frameId, message: stored('cm1') })).toBeUndefined();
    expect(outbox.settle({ type: 'ack', id: socket.frames[1]!.id, message: stored('cm1') })?.outcome).toBe('sent');
  });

  it('a frame that was not written leaves the earlier frame to be answered', () => {
    const { outbox, frameId } = withOneSent();
    outbox.transmit('cm1', recorder({ open: false }).write);
    expect(outbox.settle({ type: 'ack', id: frameId, message: stored('cm1') })?.outcome).toBe('sent');
  });

  it('a permanent error fails the message, a rate limit keeps it pending', async () => {
    const failing = withOneSent();
    const failed = failing.outbox.settle({ type: 'error', id: failing.frameId, error: { code: 'cannot_post', message: 'Cannot post in "c1"' } });
    expect(failed?.outcome).toBe('failed');
    expect(failing.outbox.list()).toEqual([
      { clientMessageId: 'cm1', chatId: 'c1', text: 'hi', state: 'failed', error: { code: 'cannot_post', message: 'Cannot post in "c1"' } },
    ]);
    await expect(failing.acked).rejects.toEqual(new ParleyError('cannot_post', 'Cannot post in "c1"', 400));

    const limited = withOneSent();
    const retry = limited.outbox.settle({ type: 'error', id: limited.frameId, error: { code: 'rate_limited', message: 'Too many messages' } });
    expect(retry?.outcome).toBe('retry');
    expect(limited.outbox.list().map((m) => [m.state, m.error?.code])).toEqual([['pending', 'rate_limited']]);
  });

  it('a failed message is not sent again until retried', () => {
    const { outbox, socket, frameId } = withOneSent();
    outbox.settle({ type: 'error', id: frameId, error: { code: 'not_found', message: 'No chat "c1"' } });
    outbox.transmitPending(socket.write);
    expect(socket.frames).toHaveLength(1);
    expect(outbox.retry('cm1')).toEqual({ clientMessageId: 'cm1', chatId: 'c1', text: 'hi', state: 'pending' });
    outbox.transmitPending(socket.write);
    expect(socket.frames.map((f) => f.clientMessageId)).toEqual(['cm1', 'cm1']);
  });

  it('retrying a message not in the outbox does nothing', () => {
    expect(new Outbox().retry('unknown')).toBeUndefined();
  });

  it('an ack without a message settles nothing and keeps the message pending', () => {
    const { outbox, frameId } = withOneSent();
    expect(outbox.settle({ type: 'ack', id: frameId })?.outcome).toBe('none');
    expect(outbox.list().map((m) => m.state)).toEqual(['pending']);
  });
});
