import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeMlsMessage } from 'ts-mls';
import { FramingError, readDeviceCert, readKeyPackage } from '../src/modules/devices/framing.ts';
import { deviceCert, deviceKeys, identityKey, makeKeyPackage } from './_mls.ts';

// The server's framing reader against KeyPackages made by a real MLS library: what a client uploads.

function outcome(bytes: Uint8Array): 'accepted' | 'refused' {
  try {
    readKeyPackage(bytes);
    return 'accepted';
  } catch (err) {
    if (err instanceof FramingError) return 'refused';
    throw err;
  }
}

describe('KeyPackage framing against ts-mls', async () => {
  const aik = identityKey();
  const keys = await deviceKeys();
  const cert = deviceCert(aik, { userId: 'user-1', deviceId: 'device-1', signatureKey: keys.publicKey });
  const made = await Promise.all(Array.from({ length: 5 }, () => makeKeyPackage(keys, cert)));

  it('reads what ts-mls writes: suite 1, the leaf signature key, the certificate, the lifetime, and the same KeyPackageRef', () => {
    for (const m of made) {
      const f = readKeyPackage(Buffer.from(m.data, 'base64'));
      expect(f.cipherSuite).toBe(1);
      expect(Buffer.from(f.signatureKey)).toEqual(Buffer.from(keys.publicKey));
      expect(Buffer.from(f.identity)).toEqual(cert);
      expect([f.notBefore, f.notAfter]).toEqual([m.keyPackage.leafNode.lifetime.notBefore, m.keyPackage.leafNode.lifetime.notAfter]);
      expect(f.ref.toString('hex')).toBe(m.ref.toString('hex'));
    }
    expect(readDeviceCert(cert)).toMatchObject({ userId: 'user-1', deviceId: 'device-1' });
  });

  it('refuses other MLS messages ts-mls writes with the same body', () => {
    const kp = made[0]!.keyPackage;
    const asKeyPackage = Buffer.from(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: kp }));
    // The same bytes framed as a Welcome, a GroupInfo or a private message.
    for (const wireFormat of [1, 2, 3, 4]) {
      const other = Buffer.from(asKeyPackage);
      other.writeUInt16BE(wireFormat, 2);
      expect(outcome(other)).toBe('refused');
    }
  });

  it('refuses every truncation and every extension of a real KeyPackage', () => {
    for (const m of made.slice(0, 2)) {
      const bytes = Buffer.from(m.data, 'base64');
      for (let n = 0; n < bytes.length; n++) expect(outcome(bytes.subarray(0, n))).toBe('refused');
      for (let k = 1; k < 8; k++) expect(outcome(Buffer.concat([bytes, randomBytes(k)]))).toBe('refused');
    }
  });

  it('throws nothing but FramingError on a real KeyPackage with bytes flipped, cut out or inserted', () => {
    const bytes = Buffer.from(made[0]!.data, 'base64');
    fc.assert(
      fc.property(
        fc.nat({ max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        fc.nat({ max: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        (at, xor, cut, insert) => {
          const bent = Buffer.from(bytes);
          bent[at]! ^= xor;
          outcome(bent);
          outcome(Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + cut + 1))]));
          // Bytes added may frame anew (zeros inside an opaque key read as a shorter key and an empty
          // vector): the reader may accept such a package, and the upload then refuses it for a
          // signature key or credential that is not the device's (e2ee-devices.test.ts). It never throws
          // anything else; appended bytes are always refused (the test above).
          outcome(Buffer.concat([bytes.subarray(0, at), insert, bytes.subarray(at)]));
          return true;
        },
      ),
      { numRuns: 2000 },
    );
  });
});
