import { beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from './codec.ts';
import {
  decodeLinkMessage,
  decodeLinkPayload,
  encodeLinkMessage,
  encodeLinkPayload,
  linkCommitment,
  newLinkSecret,
  openLinkEnvelope,
  openSasSecret,
  sasCode,
  sealLinkEnvelope,
  sealSasSecret,
  type LinkMessage,
  type LinkTarget,
} from './link.ts';
import { createMls, type SuiteHpke } from './mls.ts';

const random = (n: number) => globalThis.crypto.getRandomValues(new Uint8Array(n));

describe('device linking formats', () => {
  let hpke: SuiteHpke;
  let link: { publicKey: Uint8Array; privateKey: Uint8Array };
  let target: LinkTarget;
  beforeAll(async () => {
    hpke = (await createMls({ validator: { validate: async () => false } })).hpke();
    link = await hpke.generateKeyPair();
    target = { userId: 'alice', deviceId: 'dev-2', signatureKey: random(32), linkPublicKey: link.publicKey };
  });

  it('round-trips the QR payload and refuses anything else', () => {
    const secret = newLinkSecret();
    const text = encodeLinkPayload({ ...target, secret });
    expect(text).toMatch(/^parley-link:[A-Za-z0-9_-]+$/);
    expect(decodeLinkPayload(` ${text}\n`)).toEqual({ ...target, secret });
    const bad = [
      'hello',
      text.replace('parley-link:', 'parley-lonk:'),
      text.slice(0, -4),
      text + 'AAAA',
      encodeLinkPayload({ ...target, secret: secret.slice(0, 16) }),
      encodeLinkPayload({ ...target, signatureKey: random(31), secret }),
    ];
    for (const b of bad) expect(() => decodeLinkPayload(b)).toThrow(expect.objectContaining({ code: 'e2ee_malformed' }));
  });

  it('round-trips each mailbox message and refuses unknown ones', () => {
    const sealed = { enc: random(32), ct: random(80) };
    const messages: LinkMessage[] = [
      { kind: 'sas_start', approverKey: random(32) },
      { kind: 'sas_reveal', linkPublicKey: random(32) },
      { kind: 'sas_secret', sealed },
      { kind: 'envelope', sealed },
    ];
    for (const m of messages) expect(decodeLinkMessage(encodeLinkMessage(m))).toEqual(m);
    const bytes = encodeLinkMessage(messages[0]!);
    for (const bad of [new Uint8Array([1, 9, 0]), new Uint8Array([2, ...bytes.slice(1)]), bytes.slice(0, -1), new Uint8Array([...bytes, 0])]) {
      expect(() => decodeLinkMessage(bad)).toThrow(expect.objectContaining({ code: 'e2ee_malformed' }));
    }
  });

  it('commits to the link key with SHA-256', async () => {
    expect(await linkCommitment(link.publicKey)).toEqual(await sha256(link.publicKey));
  });

  it('gives both devices the same 6-digit code, and another code when any input differs', async () => {
    const base = { target, approverDeviceId: 'dev-1', approverKey: random(32), aikPublicKey: random(32) };
    const code = await sasCode(base);
    expect(code).toMatch(/^\d{3} \d{3}$/);
    expect(await sasCode({ ...base, target: { ...target } })).toBe(code);
    const variants = [
      { ...base, target: { ...target, deviceId: 'dev-3' } },
      { ...base, target: { ...target, userId: 'mallory' } },
      { ...base, target: { ...target, signatureKey: random(32) } },
      { ...base, target: { ...target, linkPublicKey: random(32) } },
      { ...base, approverDeviceId: 'dev-9' },
      { ...base, approverKey: random(32) },
      { ...base, aikPublicKey: random(32) },
    ];
    for (const v of variants) expect(await sasCode(v)).not.toBe(code);
  });

  it('opens an envelope only with the link key, the secret and the target it was sealed for', async () => {
    const secret = newLinkSecret();
    const envelope = { aikPkcs8: random(48), cert: random(146) };
    const sealed = await sealLinkEnvelope(hpke, { target, secret, envelope });
    expect(await openLinkEnvelope(hpke, { target, secret, linkPrivateKey: link.privateKey, sealed })).toEqual(envelope);
    const other = await hpke.generateKeyPair();
    const flipped = sealed.ct.slice();
    flipped[0]! ^= 1;
    const refused = [
      { target, secret: newLinkSecret(), linkPrivateKey: link.privateKey, sealed },
      { target: { ...target, signatureKey: random(32) }, secret, linkPrivateKey: link.privateKey, sealed },
      { target: { ...target, deviceId: 'dev-3' }, secret, linkPrivateKey: link.privateKey, sealed },
      { target, secret, linkPrivateKey: other.privateKey, sealed },
      { target, secret, linkPrivateKey: link.privateKey, sealed: { ...sealed, ct: flipped } },
    ];
    for (const r of refused) await expect(openLinkEnvelope(hpke, r)).rejects.toMatchObject({ code: 'e2ee_link_failed' });
  });

  it('hands the comparison secret only to the approver key and transcript it was sealed for', async () => {
    const approver = await hpke.generateKeyPair();
    const transcript = { target, approverDeviceId: 'dev-1', approverKey: approver.publicKey, aikPublicKey: random(32) };
    const secret = newLinkSecret();
    const sealed = await sealSasSecret(hpke, { ...transcript, secret });
    expect(await openSasSecret(hpke, { ...transcript, approverPrivateKey: approver.privateKey, sealed })).toEqual(secret);
    const other = await hpke.generateKeyPair();
    await expect(openSasSecret(hpke, { ...transcript, approverPrivateKey: other.privateKey, sealed })).rejects.toMatchObject({ code: 'e2ee_link_failed' });
    await expect(openSasSecret(hpke, { ...transcript, aikPublicKey: random(32), approverPrivateKey: approver.privateKey, sealed })).rejects.toMatchObject({
      code: 'e2ee_link_failed',
    });
  });
});
