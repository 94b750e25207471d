import type { WebSocket } from 'ws';
import type { ServerFrame } from '@parley/protocol';
import type { Delivery } from '../adapters/bus/topics.ts';

/**
 * The one place frames are encoded and written. A delivery is encoded once, whatever the number of
 * its recipients' sockets: encoding per socket (as ws would for a string) costs more than the write.
 */
export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame));
}

/** The frame a delivery becomes on every socket it goes to. */
export function deliveryFrame(d: Delivery): ServerFrame {
  if ('event' in d) return { type: 'event', event: d.event };
  if ('presence' in d) return { type: 'presence', ...d.presence };
  if ('call' in d) return d.call;
  if ('profile' in d) return { type: 'profile', user: d.profile };
  return { type: 'typing', chatId: d.typing.chatId, userId: d.typing.userId };
}

export function encodeDelivery(d: Delivery): Buffer {
  return encodeFrame(deliveryFrame(d));
}

/** Writes encoded frame bytes as a text frame (the frames are JSON). */
export function writeFrame(ws: WebSocket, bytes: Buffer): void {
  ws.send(bytes, { binary: false });
}
