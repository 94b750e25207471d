import { describe, expect, it } from 'vitest';
import { signDeviceList, type DeviceList } from './device-list.ts';
import {
  createAuthenticationService,
  decodeDeviceCert,
  encodeDeviceCert,
  exportAik,
  generateAik,
  importAik,
  signDeviceCert,
  verifyDeviceCert,
  type Aik,
} from './identity.ts';

const leafKey = () => globalThis.crypto.getRandomValues(new Uint8Array(32));

describe('account identity key', () => {
  it('exports and imports to the same key, which still signs certificates the public key verifies', async () => {
    const aik = await generateAik();
    expect(aik.publicKey).toHaveLength(32);
    expect(aik.id).toHaveLength(16);
    const back = await importAik(await exportAik(aik));
    expect(back.publicKey).toEqual(aik.publicKey);
    expect(back.id).toEqual(aik.id);
    const key = leafKey();
    const cert = await signDeviceCert(back, { userId: 'u1', deviceId: 'd1', signatureKey: key });
    expect(await verifyDeviceCert(cert, aik.publicKey, key)).toBe(true);
  });
});

describe('device certificate', () => {
  it('round-trips through its encoding and verifies for its own leaf key only', async () => {
    const aik = await generateAik();
    const key = leafKey();
    const cert = await signDeviceCert(aik, { userId: 'alice', deviceId: 'sess-1', signatureKey: key, issuedAt: 1_700_000_000_000 });
    const bytes = encodeDeviceCert(cert);
    expect(bytes.length).toBeLessThan(160);
    const back = decodeDeviceCert(bytes);
    expect(back).toEqual(cert);
    expect(await verifyDeviceCert(back, aik.publicKey, key)).toBe(true);
    // Moved to another leaf key: refused.
    expect(await verifyDeviceCert(back, aik.publicKey, leafKey())).toBe(false);
  });

  it('refuses a certificate verified under another AIK', async () => {
    const aik = await generateAik();
    const other = await generateAik();
    const key = leafKey();
    const cert = await signDeviceCert(aik, { userId: 'alice', deviceId: 'd1', signatureKey: key });
    expect(await verifyDeviceCert(cert, other.publicKey, key)).toBe(false);
    // Even when the certificate is relabelled with the other key's id, the signature does not verify.
    expect(await verifyDeviceCert({ ...cert, aikId: other.id }, other.publicKey, key)).toBe(false);
  });

  it('refuses every tampered field', async () => {
    const aik = await generateAik();
    const key = leafKey();
    const cert = await signDeviceCert(aik, { userId: 'alice', deviceId: 'd1', signatureKey: key });
    const tampered = [
      { ...cert, userId: 'mallory' },
      { ...cert, deviceId: 'd2' },
      { ...cert, issuedAt: cert.issuedAt + 1 },
      { ...cert, signature: cert.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) },
    ];
    for (const t of tampered) expect(await verifyDeviceCert(t, aik.publicKey, key)).toBe(false);
  });

  it('refuses malformed encodings with e2ee_malformed', async () => {
    const aik = await generateAik();
    const bytes = encodeDeviceCert(await signDeviceCert(aik, { userId: 'a', deviceId: 'd', signatureKey: leafKey() }));
    for (const bad of [bytes.slice(0, -1), Uint8Array.of(...bytes, 0), Uint8Array.of(2, ...bytes.slice(1)), new Uint8Array(0)]) {
      expect(() => decodeDeviceCert(bad)).toThrow(expect.objectContaining({ code: 'e2ee_malformed' }));
    }
  });
});

describe('authentication service', () => {
  async function setup() {
    const alice: Aik = await generateAik();
    const key = leafKey();
    const cert = encodeDeviceCert(await signDeviceCert(alice, { userId: 'alice', deviceId: 'd1', signatureKey: key }));
    let list: DeviceList | undefined = await signDeviceList(alice, { userId: 'alice', devices: [{ deviceId: 'd1', signatureKey: key, issuedAt: 1 }] });
    let pinned: Uint8Array | undefined = alice.publicKey;
    const as = createAuthenticationService({ pinnedAik: async () => pinned, deviceList: async () => list });
    return {
      alice,
      key,
      cert,
      as,
      setPinned: (k: Uint8Array | undefined) => (pinned = k),
      setList: (l: DeviceList | undefined) => (list = l),
    };
  }

  it('accepts a certified, listed device under the pinned AIK', async () => {
    const { as, cert, key } = await setup();
    expect(await as.check(cert, key)).toMatchObject({ ok: true, cert: { userId: 'alice', deviceId: 'd1' } });
    expect(await as.validate(cert, key)).toBe(true);
  });

  it('refuses a credential that is not a certificate (check 1)', async () => {
    const { as, key } = await setup();
    expect(await as.check(new TextEncoder().encode('alice'), key)).toMatchObject({ ok: false, reason: expect.stringContaining('not a device certificate') });
  });

  it('refuses when no AIK or another AIK is pinned for the user (check 2)', async () => {
    const s = await setup();
    s.setPinned(undefined);
    expect(await s.as.validate(s.cert, s.key)).toBe(false);
    s.setPinned((await generateAik()).publicKey);
    expect(await s.as.check(s.cert, s.key)).toMatchObject({ ok: false, reason: expect.stringContaining('another identity key') });
  });

  it('refuses a certificate presented with another leaf key (check 3)', async () => {
    const { as, cert } = await setup();
    expect(await as.check(cert, leafKey())).toMatchObject({ ok: false, reason: expect.stringContaining('does not verify') });
  });

  it('refuses a device missing from the signed list (check 4)', async () => {
    const s = await setup();
    s.setList(await signDeviceList(s.alice, { userId: 'alice', devices: [] }));
    expect(await s.as.check(s.cert, s.key)).toMatchObject({ ok: false, reason: expect.stringContaining('not in the signed device list') });
    s.setList(undefined);
    expect(await s.as.validate(s.cert, s.key)).toBe(false);
  });
});
