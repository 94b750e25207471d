import { buf, bytesEqual, sha256, TlsReader, TlsWriter } from './codec.ts';
import type { DeviceList } from './device-list.ts';
import { E2eeError } from './errors.ts';

// Account identity key (AIK) and device certificates (E2EE design §4.1, §4.2). Ed25519 through WebCrypto
// (`globalThis.crypto.subtle`), which Node 20+ and current browsers both provide.

const ED25519 = { name: 'Ed25519' } as const;
const CERT_LABEL = new TextEncoder().encode('parley device cert v1');
const CERT_VERSION = 1;

/** An account identity key: signs the user's device certificates and device lists. */
export interface Aik {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Extractable: it is escrowed under the recovery key and handed to newly approved devices. */
  readonly privateKey: CryptoKey;
  /** First 16 bytes of SHA-256(publicKey): names the key inside certificates and rosters. */
  readonly id: Uint8Array;
}

/** Generates a new AIK, e.g. `const aik = await generateAik()` on a user's first device. */
export async function generateAik(): Promise<Aik> {
  const pair = (await globalThis.crypto.subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicKey = new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', pair.publicKey));
  return { publicKey, privateKey: pair.privateKey, id: await aikIdOf(publicKey) };
}

/** The AIK's private key as PKCS #8 bytes (for the recovery escrow and device wrapping only). */
export async function exportAik(aik: Aik): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.exportKey('pkcs8', aik.privateKey));
}

/** Rebuilds an AIK from `exportAik` bytes; the public key comes back through the JWK form. */
export async function importAik(pkcs8: Uint8Array): Promise<Aik> {
  let privateKey: CryptoKey;
  try {
    privateKey = await globalThis.crypto.subtle.importKey('pkcs8', buf(pkcs8), ED25519, true, ['sign']);
  } catch (err) {
    throw new E2eeError('e2ee_malformed', 'Could not import the account identity key', { cause: err });
  }
  const jwk = await globalThis.crypto.subtle.exportKey('jwk', privateKey);
  const publicKey = fromBase64Url(jwk.x ?? '');
  return { publicKey, privateKey, id: await aikIdOf(publicKey) };
}

export async function aikIdOf(publicKey: Uint8Array): Promise<Uint8Array> {
  return (await sha256(publicKey)).slice(0, 16);
}

export async function ed25519Sign(privateKey: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.sign(ED25519, privateKey, buf(data)));
}

export async function ed25519Verify(publicKey: Uint8Array, signature: Uint8Array, data: Uint8Array): Promise<boolean> {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const key = await globalThis.crypto.subtle.importKey('raw', buf(publicKey), ED25519, false, ['verify']);
  return globalThis.crypto.subtle.verify(ED25519, key, buf(signature), buf(data));
}

/** The MLS basic credential of a Parley device: binds (userId, deviceId) and the leaf signature key to an AIK. */
export interface DeviceCert {
  readonly userId: string;
  readonly deviceId: string;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
  readonly aikId: Uint8Array;
  readonly signature: Uint8Array;
}

export function encodeDeviceCert(cert: DeviceCert): Uint8Array {
  return new TlsWriter().u8(CERT_VERSION).string(cert.userId).string(cert.deviceId).u64(cert.issuedAt).opaque(cert.aikId).opaque(cert.signature).finish();
}

/** Decodes a certificate (throws `e2ee_malformed`); it says nothing about whether it is valid. */
export function decodeDeviceCert(bytes: Uint8Array): DeviceCert {
  const r = new TlsReader(bytes, 'device certificate');
  const version = r.u8();
  if (version !== CERT_VERSION) throw new E2eeError('e2ee_malformed', `Unknown device certificate version ${version}`);
  const cert = {
    userId: r.string(),
    deviceId: r.string(),
    issuedAt: Number(r.u64()),
    aikId: r.opaque().slice(),
    signature: r.opaque().slice(),
  };
  r.end();
  return cert;
}

// Every field is length-prefixed so no two field splits sign the same bytes.
function certSignedBytes(cert: Omit<DeviceCert, 'signature'>, signatureKey: Uint8Array): Uint8Array {
  return new TlsWriter().raw(CERT_LABEL).string(cert.userId).string(cert.deviceId).u64(cert.issuedAt).opaque(cert.aikId).opaque(signatureKey).finish();
}

/**
 * Signs a device certificate for a leaf signature key, e.g.
 * `await signDeviceCert(aik, { userId, deviceId, signatureKey })` when approving a device.
 */
export async function signDeviceCert(
  aik: Aik,
  options: { userId: string; deviceId: string; signatureKey: Uint8Array; issuedAt?: number },
): Promise<DeviceCert> {
  const unsigned = {
    userId: options.userId,
    deviceId: options.deviceId,
    issuedAt: options.issuedAt ?? Date.now(),
    aikId: aik.id,
  };
  const signature = await ed25519Sign(aik.privateKey, certSignedBytes(unsigned, options.signatureKey));
  return { ...unsigned, signature };
}

/** True when `cert` was signed by `aikPublicKey` for exactly this leaf signature key. */
export async function verifyDeviceCert(cert: DeviceCert, aikPublicKey: Uint8Array, signatureKey: Uint8Array): Promise<boolean> {
  if (!bytesEqual(cert.aikId, await aikIdOf(aikPublicKey))) return false;
  return ed25519Verify(aikPublicKey, cert.signature, certSignedBytes(cert, signatureKey));
}

/** Where the authentication service finds what this device trusts (pinned AIKs, newest verified device lists). */
export interface IdentityLookup {
  /** The AIK public key pinned for a user (TOFU or verified), or undefined when none is known. */
  pinnedAik(userId: string): Promise<Uint8Array | undefined>;
  /** The newest device list of a user whose hash chain this device verified (see verifyDeviceListChain). */
  deviceList(userId: string): Promise<DeviceList | undefined>;
}

/** The credential check the MLS layer calls for every leaf it meets (E2EE design §4.4, checks 1–4). */
export interface CredentialValidator {
  /** `identity` is the basic credential's identity bytes; false refuses the leaf. */
  validate(identity: Uint8Array, signaturePublicKey: Uint8Array): Promise<boolean>;
}

export type CredentialCheck = { ok: true; cert: DeviceCert } | { ok: false; reason: string };

/**
 * Parley's authentication service, e.g. `createAuthenticationService({ pinnedAik, deviceList })`. A leaf is accepted
 * only if its certificate decodes, names the AIK pinned for its user, verifies over the leaf's signature key, and its
 * device is in the user's newest verified device list.
 */
export function createAuthenticationService(lookup: IdentityLookup): CredentialValidator & {
  check(identity: Uint8Array, signaturePublicKey: Uint8Array): Promise<CredentialCheck>;
} {
  async function check(identity: Uint8Array, signaturePublicKey: Uint8Array): Promise<CredentialCheck> {
    let cert: DeviceCert;
    try {
      cert = decodeDeviceCert(identity);
    } catch {
      return { ok: false, reason: 'credential is not a device certificate' };
    }
    const aik = await lookup.pinnedAik(cert.userId);
    if (aik === undefined) return { ok: false, reason: `no pinned identity key for user "${cert.userId}"` };
    if (!bytesEqual(cert.aikId, await aikIdOf(aik))) return { ok: false, reason: 'certificate names another identity key' };
    if (!(await verifyDeviceCert(cert, aik, signaturePublicKey))) return { ok: false, reason: 'certificate signature does not verify' };
    const list = await lookup.deviceList(cert.userId);
    if (list === undefined || list.userId !== cert.userId || !list.devices.some((d) => d.deviceId === cert.deviceId)) {
      return { ok: false, reason: `device "${cert.deviceId}" is not in the signed device list` };
    }
    return { ok: true, cert };
  }
  return {
    check,
    async validate(identity, signaturePublicKey) {
      return (await check(identity, signaturePublicKey)).ok;
    },
  };
}

function fromBase64Url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
