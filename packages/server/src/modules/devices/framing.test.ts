import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FramingError, readDeviceCert, readKeyPackage } from './framing.ts';

// KeyPackages written by hand in the RFC 9420 layout (the integration suite checks real ones made
// by ts-mls), then cut, flipped and replaced by noise.

function varint(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  return Buffer.from([0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}
const opaque = (b: Uint8Array) => Buffer.concat([varint(b.length), b]);
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const u16s = (xs: number[]) => opaque(Buffer.concat(xs.map(u16)));

interface Parts {
  version?: number;
  wireFormat?: number;
  suite?: number;
  credentialType?: number;
  signatureKey?: Buffer;
  identity?: Buffer;
  source?: number;
  notAfter?: bigint;
  trailing?: Buffer;
}

function keyPackage(p: Parts = {}): Buffer {
  const leaf = Buffer.concat([
    opaque(randomBytes(32)),
    opaque(p.signatureKey ?? Buffer.alloc(32, 7)),
    u16(p.credentialType ?? 1),
    opaque(p.identity ?? Buffer.from('cert')),
    u16s([1]),
    u16s([1]),
    u16s([]),
    u16s([]),
    u16s([1]),
    Buffer.from([p.source ?? 1]),
    u64(1n),
    u64(p.notAfter ?? 2n ** 40n),
    opaque(Buffer.alloc(0)),
    opaque(randomBytes(64)),
  ]);
  const body = Buffer.concat([
    u16(1),
    u16(p.suite ?? 1),
    opaque(randomBytes(32)),
    leaf,
    opaque(Buffer.concat([u16(0xf0a1), opaque(Buffer.from('x'))])),
    opaque(randomBytes(64)),
  ]);
  return Buffer.concat([u16(p.version ?? 1), u16(p.wireFormat ?? 5), body, p.trailing ?? Buffer.alloc(0)]);
}

function refOf(kp: Buffer): Buffer {
  const label = Buffer.from('MLS 1.0 KeyPackage Reference');
  const value = kp.subarray(4);
  return createHash('sha256')
    .update(Buffer.concat([varint(label.length), label, varint(value.length), value]))
    .digest();
}

/** Either a FramingError or a value: never any other exception. */
function outcome(bytes: Uint8Array): 'accepted' | 'refused' {
  try {
    readKeyPackage(bytes);
    return 'accepted';
  } catch (err) {
    if (err instanceof FramingError) return 'refused';
    throw err;
  }
}

describe('KeyPackage framing', () => {
  it('reads a well-formed KeyPackage: suite, signature key, credential identity, lifetime and its ref', () => {
    const kp = keyPackage({ signatureKey: Buffer.alloc(32, 9), identity: Buffer.from('my cert'), notAfter: 12345n });
    const f = readKeyPackage(kp);
    expect(f.cipherSuite).toBe(1);
    expect(Buffer.from(f.signatureKey)).toEqual(Buffer.alloc(32, 9));
    expect(Buffer.from(f.identity).toString()).toBe('my cert');
    expect([f.notBefore, f.notAfter]).toEqual([1n, 12345n]);
    expect(f.ref).toEqual(refOf(kp));
  });

  it('reads lengths in every varint size, and a long credential', () => {
    expect(Buffer.from(readKeyPackage(keyPackage({ identity: Buffer.alloc(300, 1) })).identity).length).toBe(300);
    expect(Buffer.from(readKeyPackage(keyPackage({ identity: Buffer.alloc(20000, 1) })).identity).length).toBe(20000);
  });

  it.each<[string, Parts]>([
    ['another protocol version', { version: 2 }],
    ['another wire format (a private message)', { wireFormat: 2 }],
    ['a GroupInfo', { wireFormat: 4 }],
    ['cipher suite 3', { suite: 3 }],
    ['an x509 credential', { credentialType: 2 }],
    ['a leaf from a commit', { source: 3 }],
    ['a short signature key', { signatureKey: Buffer.alloc(31) }],
    ['a lifetime ending before it starts', { notAfter: 0n }],
    ['trailing bytes', { trailing: Buffer.from([0]) }],
  ])('refuses %s', (_what, parts) => {
    expect(() => readKeyPackage(keyPackage(parts))).toThrow(FramingError);
  });

  it('refuses a non-minimal or invalid length prefix', () => {
    const kp = keyPackage();
    // The init key's length (32) is at offset 8: write it on two bytes instead of one.
    const padded = Buffer.concat([kp.subarray(0, 8), Buffer.from([0x40, 32]), kp.subarray(9)]);
    expect(() => readKeyPackage(padded)).toThrow(/minimally/);
    const invalid = Buffer.from(kp);
    invalid[8] = 0xc0;
    expect(() => readKeyPackage(invalid)).toThrow(/invalid length prefix/);
  });

  it('never accepts a truncated KeyPackage, at any length', () => {
    const kp = keyPackage();
    for (let n = 0; n < kp.length; n++) expect(outcome(kp.subarray(0, n))).toBe('refused');
  });

  it('never accepts random bytes, and throws nothing but FramingError on them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => outcome(bytes) === 'refused'),
      { numRuns: 3000 },
    );
    // Random bodies behind a valid header get past the first checks.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (tail) => outcome(Buffer.concat([u16(1), u16(5), u16(1), u16(1), Buffer.from(tail)])) === 'refused'),
      { numRuns: 3000 },
    );
  });

  it('throws nothing but FramingError on flipped bytes, and accepts a flip only where the structure still holds', () => {
    const kp = keyPackage();
    fc.assert(
      fc.property(fc.nat({ max: kp.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bent = Buffer.from(kp);
        bent[at]! ^= xor;
        const result = outcome(bent);
        // A flip in a key, signature or credential byte keeps the framing; anywhere else it breaks it.
        if (result === 'accepted') expect(readKeyPackage(bent).ref.equals(refOf(kp))).toBe(false);
        return true;
      }),
      { numRuns: 3000 },
    );
    // The header: version and wire format.
    for (const at of [0, 1, 2, 3, 4, 5, 6, 7]) {
      const bent = Buffer.from(kp);
      bent[at]! ^= 0x10;
      expect(outcome(bent)).toBe('refused');
    }
  });
});

describe('device certificate framing', () => {
  const cert = (over: { version?: number; aikId?: Buffer; sig?: Buffer; userId?: Buffer } = {}) =>
    Buffer.concat([
      Buffer.from([over.version ?? 1]),
      opaque(over.userId ?? Buffer.from('user-1')),
      opaque(Buffer.from('device-1')),
      u64(1700000000000n),
      opaque(over.aikId ?? Buffer.alloc(16, 3)),
      opaque(over.sig ?? Buffer.alloc(64, 4)),
    ]);

  it('reads the user, device and identity key id', () => {
    const c = readDeviceCert(cert());
    expect([c.userId, c.deviceId, c.issuedAt, Buffer.from(c.aikId)]).toEqual(['user-1', 'device-1', 1700000000000n, Buffer.alloc(16, 3)]);
  });

  it('refuses another version, wrong sizes, bad UTF-8, truncation and noise', () => {
    for (const bad of [cert({ version: 2 }), cert({ aikId: Buffer.alloc(15) }), cert({ sig: Buffer.alloc(63) }), cert({ userId: Buffer.from([0xff, 0xfe]) })]) {
      expect(() => readDeviceCert(bad)).toThrow(FramingError);
    }
    const good = cert();
    for (let n = 0; n < good.length; n++) expect(() => readDeviceCert(good.subarray(0, n))).toThrow(FramingError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          readDeviceCert(bytes);
          return false;
        } catch (err) {
          return err instanceof FramingError;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
