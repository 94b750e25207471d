import { describe, expect, it } from 'vitest';
import { TlsReader, TlsWriter } from './codec.ts';
import { MAX_PAYLOAD_BYTES, padPayload, unpadPayload } from './padding.ts';

describe('TLS codec', () => {
  it('writes RFC 9420 variable-length lengths and reads them back', () => {
    for (const [n, prefix] of [
      [0, [0x00]],
      [63, [0x3f]],
      [64, [0x40, 0x40]],
      [16383, [0x7f, 0xff]],
      [16384, [0x80, 0x00, 0x40, 0x00]],
    ] as const) {
      const bytes = new TlsWriter().varint(n).finish();
      expect([...bytes]).toEqual(prefix);
      expect(new TlsReader(bytes, 'test').varint()).toBe(n);
    }
  });

  it('refuses non-minimal lengths, truncation and trailing bytes', () => {
    const malformed = expect.objectContaining({ code: 'e2ee_malformed' });
    expect(() => new TlsReader(Uint8Array.of(0x40, 0x01), 'test').varint()).toThrow(malformed);
    expect(() => new TlsReader(Uint8Array.of(0x05, 1, 2), 'test').opaque()).toThrow(malformed);
    const r = new TlsReader(Uint8Array.of(0x01, 7, 9), 'test');
    r.opaque();
    expect(() => r.end()).toThrow(malformed);
    expect(() => new TlsReader(Uint8Array.of(0x02, 0xc3, 0x28), 'test').string()).toThrow(malformed);
  });
});

describe('payload padding', () => {
  it('pads to power-of-two buckets from 256 B and removes the padding exactly', () => {
    for (const [length, bucket] of [
      [0, 256],
      [255, 256],
      [256, 512],
      [5000, 8192],
      [MAX_PAYLOAD_BYTES, 32768],
    ]) {
      const payload = globalThis.crypto.getRandomValues(new Uint8Array(length));
      const padded = padPayload(payload);
      expect(padded.length).toBe(bucket);
      expect(unpadPayload(padded)).toEqual(payload);
    }
    // Trailing zeros of the payload itself survive.
    expect(unpadPayload(padPayload(Uint8Array.of(1, 0, 0)))).toEqual(Uint8Array.of(1, 0, 0));
  });

  it('refuses a payload over 32 KiB and padding without its marker', () => {
    expect(() => padPayload(new Uint8Array(MAX_PAYLOAD_BYTES + 1))).toThrow(expect.objectContaining({ code: 'e2ee_payload_too_large' }));
    expect(() => unpadPayload(new Uint8Array(256))).toThrow(expect.objectContaining({ code: 'e2ee_malformed' }));
  });
});
