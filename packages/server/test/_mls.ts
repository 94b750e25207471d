// Real MLS KeyPackages for the server's tests, made with ts-mls (tests only: the server itself never
// imports it), and device certificates in the DeviceCert v1 layout the server reads.
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import {
  defaultCapabilities,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type CiphersuiteImpl,
  type KeyPackage,
} from 'ts-mls';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';

let suite: Promise<CiphersuiteImpl> | undefined;
export function cipherSuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'));
  return suite;
}

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function varint(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  return Buffer.from([0x40 | (n >> 8), n & 0xff]);
}
const opaque = (b: Uint8Array) => Buffer.concat([varint(b.length), b]);

/** An account identity key (Ed25519) as a test user's client would hold it. */
export function identityKey() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { publicKey: raw, privateKey, aikId: createHash('sha256').update(raw).digest().subarray(0, 16) };
}
export type IdentityKey = ReturnType<typeof identityKey>;

/** A DeviceCert v1 for (userId, deviceId), signed with the identity key over the leaf signature key. */
export function deviceCert(aik: IdentityKey, options: { userId: string; deviceId: string; signatureKey: Uint8Array; version?: number }): Buffer {
  const issued = Buffer.alloc(8);
  issued.writeBigUInt64BE(BigInt(Date.now()));
  const userId = Buffer.from(options.userId);
  const deviceId = Buffer.from(options.deviceId);
  const signed = Buffer.concat([Buffer.from('parley device cert v1'), userId, deviceId, issued, aik.aikId, options.signatureKey]);
  const signature = sign(null, signed, aik.privateKey);
  return Buffer.concat([Buffer.from([options.version ?? 1]), opaque(userId), opaque(deviceId), issued, opaque(aik.aikId), opaque(signature)]);
}

/** A device's MLS signature key pair. */
export async function deviceKeys(): Promise<{ signKey: Uint8Array; publicKey: Uint8Array }> {
  return (await cipherSuite()).signature.keygen();
}

export interface MadeKeyPackage {
  /** the MLSMessage, base64, as uploaded */
  data: string;
  /** the KeyPackageRef ts-mls computes */
  ref: Buffer;
  keyPackage: KeyPackage;
}

/** A KeyPackage of this device: its signature key, its certificate as the basic credential's identity. */
export async function makeKeyPackage(
  keys: { signKey: Uint8Array; publicKey: Uint8Array },
  cert: Uint8Array,
  options: { notAfter?: bigint } = {},
): Promise<MadeKeyPackage> {
  const cs = await cipherSuite();
  const now = BigInt(Math.floor(Date.now() / 1000));
  const lifetime = { notBefore: now - 60n, notAfter: options.notAfter ?? now + 90n * 86_400n };
  const { publicPackage } = await generateKeyPackageWithKey({ credentialType: 'basic', identity: cert }, defaultCapabilities(), lifetime, [], keys, cs);
  const bytes = encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: publicPackage });
  return { data: b64(bytes), ref: Buffer.from(await makeKeyPackageRef(publicPackage, cs.hash)), keyPackage: publicPackage };
}
