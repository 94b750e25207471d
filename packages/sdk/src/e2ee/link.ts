import { fromBase64, toBase64 } from './base64.ts';
import { sha256, TlsReader, TlsWriter } from './codec.ts';
import { E2eeError } from './errors.ts';
import type { SuiteHpke } from './mls.ts';

// Linking a new device to an account (docs/e2ee.md, "Linking a device"). The new device registers pending with a
// fresh HPKE link key and commits to it (`linkCommitment` = SHA-256 of the key). An existing device learns the
// new device's keys either from a QR payload the user carries across (key, signature key and a one-time secret:
// nothing the server sees) or from a short authentication string both screens show, over a transcript the server
// cannot steer (the new device revealed its key only after it had the approver's). Then the approver seals the
// identity key and the new device's certificate to the link key, with the one-time secret in the HPKE context:
// the server relays every message and can read or forge none of them.

const PAYLOAD_PREFIX = 'parley-link:';
const FORMAT = 1;
const SECRET_BYTES = 32;
const KEY_BYTES = 32;
const SAS_LABEL = new TextEncoder().encode('parley link sas v1');
const SECRET_LABEL = new TextEncoder().encode('parley link secret v1');
const ENVELOPE_LABEL = new TextEncoder().encode('parley link envelope v1');

/** The new device as both ends of a link must agree on it. */
export interface LinkTarget {
  readonly userId: string;
  readonly deviceId: string;
  /** Its registered MLS leaf signature key: the certificate is signed over it. */
  readonly signatureKey: Uint8Array;
  /** Its HPKE link public key: the envelope is sealed to it. */
  readonly linkPublicKey: Uint8Array;
}

/** What the new device's QR code carries. */
export interface LinkPayload extends LinkTarget {
  /** One-time secret, in the envelope's HPKE context: whoever did not see the QR code cannot make an envelope. */
  readonly secret: Uint8Array;
}

/** A sealed HPKE message: the encapsulated key and the ciphertext. */
export interface Sealed {
  readonly enc: Uint8Array;
  readonly ct: Uint8Array;
}

/** The messages the two devices pass through the server's link mailbox. */
export type LinkMessage =
  | { kind: 'sas_start'; approverKey: Uint8Array }
  | { kind: 'sas_reveal'; linkPublicKey: Uint8Array }
  | { kind: 'sas_secret'; sealed: Sealed }
  | { kind: 'envelope'; sealed: Sealed };

const KINDS = ['sas_start', 'sas_reveal', 'sas_secret', 'envelope'] as const;

/** What the envelope gives the new device. */
export interface LinkEnvelope {
  /** The identity key's private key as PKCS #8 (see exportAik). */
  readonly aikPkcs8: Uint8Array;
  /** Its device certificate, signed by the approver with the identity key. */
  readonly cert: Uint8Array;
}

export function newLinkSecret(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
}

/** SHA-256 of the link key, registered with the pending device before it has seen any approver's key. */
export function linkCommitment(linkPublicKey: Uint8Array): Promise<Uint8Array> {
  return sha256(linkPublicKey);
}

function writeTarget(w: TlsWriter, t: LinkTarget): TlsWriter {
  return w.string(t.userId).string(t.deviceId).opaque(t.signatureKey).opaque(t.linkPublicKey);
}

/** The QR string, e.g. `parley-link:AQ…` (base64url of a TLS structure). */
export function encodeLinkPayload(p: LinkPayload): string {
  const bytes = writeTarget(new TlsWriter().u8(FORMAT), p).opaque(p.secret).finish();
  return PAYLOAD_PREFIX + toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Reads a scanned or pasted payload; anything but a well-formed one is `e2ee_malformed`. */
export function decodeLinkPayload(text: string): LinkPayload {
  const trimmed = text.trim();
  if (!trimmed.startsWith(PAYLOAD_PREFIX)) throw new E2eeError('e2ee_malformed', 'This is not a Parley device-link code');
  let bytes: Uint8Array;
  try {
    const b64 = trimmed.slice(PAYLOAD_PREFIX.length).replace(/-/g, '+').replace(/_/g, '/');
    bytes = fromBase64(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  } catch (err) {
    throw new E2eeError('e2ee_malformed', 'The device-link code is not base64url', { cause: err });
  }
  const r = new TlsReader(bytes, 'device-link code');
  const format = r.u8();
  if (format !== FORMAT) throw new E2eeError('e2ee_malformed', `Unknown device-link code format ${format}`);
  const payload = { userId: r.string(), deviceId: r.string(), signatureKey: r.opaque().slice(), linkPublicKey: r.opaque().slice(), secret: r.opaque().slice() };
  r.end();
  if (payload.signatureKey.length !== KEY_BYTES || payload.linkPublicKey.length !== KEY_BYTES || payload.secret.length !== SECRET_BYTES) {
    throw new E2eeError('e2ee_malformed', 'The device-link code has keys of the wrong size');
  }
  return payload;
}

export function encodeLinkMessage(m: LinkMessage): Uint8Array {
  const w = new TlsWriter().u8(FORMAT).u8(KINDS.indexOf(m.kind) + 1);
  if (m.kind === 'sas_start') w.opaque(m.approverKey);
  else if (m.kind === 'sas_reveal') w.opaque(m.linkPublicKey);
  else w.opaque(m.sealed.enc).opaque(m.sealed.ct);
  return w.finish();
}

/** Reads a mailbox message (`e2ee_malformed` when it is none: the server may relay anything). */
export function decodeLinkMessage(bytes: Uint8Array): LinkMessage {
  const r = new TlsReader(bytes, 'device-link message');
  const format = r.u8();
  const kind = KINDS[r.u8() - 1];
  if (format !== FORMAT || !kind) throw new E2eeError('e2ee_malformed', 'Unknown device-link message');
  let m: LinkMessage;
  if (kind === 'sas_start') m = { kind, approverKey: r.opaque().slice() };
  else if (kind === 'sas_reveal') m = { kind, linkPublicKey: r.opaque().slice() };
  else m = { kind, sealed: { enc: r.opaque().slice(), ct: r.opaque().slice() } };
  r.end();
  return m;
}

/** What the short authentication string covers: the new device, the approving device and key, the identity key. */
function sasTranscript(options: { target: LinkTarget; approverDeviceId: string; approverKey: Uint8Array; aikPublicKey: Uint8Array }): Uint8Array {
  return writeTarget(new TlsWriter().raw(SAS_LABEL), options.target)
    .string(options.approverDeviceId)
    .opaque(options.approverKey)
    .opaque(options.aikPublicKey)
    .finish();
}

/**
 * The short authentication string both screens show, 6 digits as "123 456": SHA-256 of the transcript, its first
 * 4 bytes mod 10^6. Neither side can choose it: the new device's link key was committed to before the approver's
 * key was known, and the approver's key is fixed before the new device reveals its own.
 */
export async function sasCode(options: { target: LinkTarget; approverDeviceId: string; approverKey: Uint8Array; aikPublicKey: Uint8Array }): Promise<string> {
  const h = await sha256(sasTranscript(options));
  const n = (((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!) % 1_000_000;
  const digits = String(n).padStart(6, '0');
  return `${digits.slice(0, 3)} ${digits.slice(3)}`;
}

/**
 * The new device, once the user saw matching codes on its screen, seals a one-time secret to the approver's SAS key;
 * the envelope then needs it, so a server that put its own key in front of the new device learns nothing it can use.
 */
export function sealSasSecret(
  hpke: SuiteHpke,
  options: { target: LinkTarget; approverDeviceId: string; approverKey: Uint8Array; aikPublicKey: Uint8Array; secret: Uint8Array },
): Promise<Sealed> {
  const info = new TlsWriter().raw(SECRET_LABEL).opaque(sasTranscript(options)).finish();
  return hpke.seal(options.approverKey, options.secret, { info, aad: new Uint8Array() });
}

export async function openSasSecret(
  hpke: SuiteHpke,
  options: { target: LinkTarget; approverDeviceId: string; approverKey: Uint8Array; approverPrivateKey: Uint8Array; aikPublicKey: Uint8Array; sealed: Sealed },
): Promise<Uint8Array> {
  const info = new TlsWriter().raw(SECRET_LABEL).opaque(sasTranscript(options)).finish();
  let secret: Uint8Array;
  try {
    secret = await hpke.open(options.approverPrivateKey, options.sealed, { info, aad: new Uint8Array() });
  } catch (err) {
    throw new E2eeError('e2ee_link_failed', 'The new device\u2019s confirmation does not open with this comparison\u2019s key', { cause: err });
  }
  if (secret.length !== SECRET_BYTES) throw new E2eeError('e2ee_link_failed', 'The new device\u2019s confirmation is malformed');
  return secret;
}

function envelopeContext(target: LinkTarget, secret: Uint8Array): { info: Uint8Array; aad: Uint8Array } {
  const aad = writeTarget(new TlsWriter(), target).finish();
  return { info: new TlsWriter().raw(ENVELOPE_LABEL).opaque(secret).opaque(aad).finish(), aad };
}

/** Seals the identity key and the certificate to the new device's link key, bound to the secret and the target. */
export function sealLinkEnvelope(hpke: SuiteHpke, options: { target: LinkTarget; secret: Uint8Array; envelope: LinkEnvelope }): Promise<Sealed> {
  const plain = new TlsWriter().u8(FORMAT).opaque(options.envelope.aikPkcs8).opaque(options.envelope.cert).finish();
  return hpke.seal(options.target.linkPublicKey, plain, envelopeContext(options.target, options.secret));
}

/** Opens an envelope on the new device; one made without the secret, for another target, or altered is `e2ee_link_failed`. */
export async function openLinkEnvelope(
  hpke: SuiteHpke,
  options: { target: LinkTarget; secret: Uint8Array; linkPrivateKey: Uint8Array; sealed: Sealed },
): Promise<LinkEnvelope> {
  let plain: Uint8Array;
  try {
    plain = await hpke.open(options.linkPrivateKey, options.sealed, envelopeContext(options.target, options.secret));
  } catch (err) {
    throw new E2eeError('e2ee_link_failed', 'The link envelope does not open: it was not made by the device this one was shown to', { cause: err });
  }
  try {
    const r = new TlsReader(plain, 'link envelope');
    if (r.u8() !== FORMAT) throw new E2eeError('e2ee_malformed', 'Unknown link envelope format');
    const envelope = { aikPkcs8: r.opaque().slice(), cert: r.opaque().slice() };
    r.end();
    return envelope;
  } finally {
    plain.fill(0);
  }
}
