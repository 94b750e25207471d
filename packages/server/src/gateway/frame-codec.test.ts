import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '@parley/protocol';
import { deliveryFrame, encodeDelivery, encodeFrame } from './frame-codec.ts';

const event: ChatEvent = { log: 'chat', type: 'chat.updated', chatId: 'c1', seq: 3, actorId: 'u1', at: '2026-01-01T00:00:00.000Z', title: 'T' };

describe('frame codec', () => {
  it('deliveryFrame() wraps a logged event in an event frame', () => {
    expect(deliveryFrame({ userIds: ['u2'], event })).toEqual({ type: 'event', event });
  });

  it('deliveryFrame() flattens presence into a presence frame', () => {
    expect(deliveryFrame({ userIds: ['u2'], presence: { userId: 'u1', online: false, lastSeenAt: null } })).toEqual({
      type: 'presence',
      userId: 'u1',
      online: false,
      lastSeenAt: null,
    });
  });

  it('deliveryFrame() turns a typing delivery into a typing frame', () => {
    expect(deliveryFrame({ userIds: ['u2'], typing: { chatId: 'c1', userId: 'u1' } })).toEqual({ type: 'typing', chatId: 'c1', userId: 'u1' });
  });

  it('encodeFrame() writes JSON text without the fields left undefined', () => {
    const bytes = encodeFrame({ type: 'pong', id: undefined as unknown as string });
    expect(bytes.toString('utf8')).toBe('{"type":"pong"}');
  });

  it('encodeDelivery() encodes the recipients out of the frame', () => {
    const text = encodeDelivery({ userIds: ['secret-recipient'], event }).toString('utf8');
    expect(JSON.parse(text)).toEqual({ type: 'event', event });
    expect(text).not.toContain('secret-recipient');
  });
});
