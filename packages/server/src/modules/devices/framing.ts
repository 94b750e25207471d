import { createHash } from 'node:crypto';

// A small reader for the TLS presentation language of RFC 9420 (MLS), enough to check the framing of
// what clients upload without an MLS library on the server: a KeyPackage's version, wire format,
// cipher suite, leaf signature key, credential and lifetime, and the device certificate. It checks
// structure only; signatures are the clients' to verify.

/** The protocol version of MLS 1.0 (RFC 9420), in every message and group context. */
export const MLS10 = 1;
const WIRE_FORMAT_KEY_PACKAGE = 5;
const CREDENTIAL_BASIC = 1;
const LEAF_SOURCE_KEY_PACKAGE = 1;
/** Ed25519 / X25519 key and Ed25519 signature sizes of cipher suite 1. */
const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** Bytes that do not frame as expected: a message for the client, never a crash. */
export class FramingError extends Error {}

export class Reader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.offset === this.bytes.length;
  }

  take(n: number, what: string): Uint8Array {
    if (n > this.bytes.length - this.offset) throw new FramingError(`${what} runs past the end`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u8(what: string): number {
    return this.take(1, what)[0]!;
  }

  u16(what: string): number {
    const b = this.take(2, what);
    return (b[0]! << 8) | b[1]!;
  }

  u64(what: string): bigint {
    const b = this.take(8, what);
    let v = 0n;
    for (const x of b) v = (v << 8n) | BigInt(x);
    return v;
  }

  /** A variable-size length (RFC 9420 §2.1.2): 1, 2 or 4 bytes, minimally encoded. */
  varint(what: string): number {
    const first = this.u8(what);
    const prefix = first >> 6;
    if (prefix === 0) return first & 0x3f;
    if (prefix === 1) {
      const v = ((first & 0x3f) << 8) | this.u8(what);
      if (v < 64) throw new FramingError(`${what}: length not minimally encoded`);
      return v;
    }
    if (prefix === 2) {
      const rest = this.take(3, what);
      const v = (first & 0x3f) * 2 ** 24 + ((rest[0]! << 16) | (rest[1]! << 8) | rest[2]!);
      if (v < 16384) throw new FramingError(`${what}: length not minimally encoded`);
      return v;
    }
    throw new FramingError(`${what}: invalid length prefix`);
  }

  /** opaque data<V> */
  opaque(what: string): Uint8Array {
    return this.take(this.varint(what), what);
  }

  /** A vector<V> whose items are read by `item` until its bytes are used up. */
  vector(what: string, item: (r: Reader) => void): void {
    const inner = new Reader(this.opaque(what));
    while (!inner.done) item(inner);
  }
}

function expectSize(bytes: Uint8Array, size: number, what: string): Uint8Array {
  if (bytes.length !== size) throw new FramingError(`${what} is ${bytes.length} bytes, not ${size}`);
  return bytes;
}

function readExtensions(r: Reader, what: string): void {
  r.vector(what, (x) => {
    x.u16(`${what} type`);
    x.opaque(`${what} data`);
  });
}

function readCredential(r: Reader): Uint8Array {
  const type = r.u16('credential type');
  if (type !== CREDENTIAL_BASIC) throw new FramingError(`Credential type ${type} is not basic (1)`);
  return r.opaque('credential identity');
}

function readCapabilities(r: Reader): void {
  r.vector('capability versions', (x) => x.u16('version'));
  r.vector('capability cipher suites', (x) => x.u16('cipher suite'));
  r.vector('capability extensions', (x) => x.u16('extension type'));
  r.vector('capability proposals', (x) => x.u16('proposal type'));
  r.vector('capability credentials', (x) => x.u16('credential type'));
}

export interface KeyPackageFrame {
  cipherSuite: number;
  /** the leaf's MLS signature key */
  signatureKey: Uint8Array;
  /** the basic credential's identity: the device certificate */
  identity: Uint8Array;
  /** the lifetime's bounds, seconds since the epoch */
  notBefore: bigint;
  notAfter: bigint;
  /** the KeyPackageRef (RFC 9420 §5.2): what a Welcome names the package by */
  ref: Buffer;
}

/**
 * Reads an MLSMessage that should hold a KeyPackage: version mls10, wire format mls_key_package,
 * cipher suite 1, a leaf node from a key package with a basic credential, and nothing after it.
 * Throws FramingError for anything else.
 */
export function readKeyPackage(bytes: Uint8Array): KeyPackageFrame {
  const r = new Reader(bytes);
  if (r.u16('version') !== MLS10) throw new FramingError('Not an MLS 1.0 message');
  const wireFormat = r.u16('wire format');
  if (wireFormat !== WIRE_FORMAT_KEY_PACKAGE) throw new FramingError(`Wire format ${wireFormat} is not mls_key_package (5)`);
  const start = 4;
  if (r.u16('KeyPackage version') !== MLS10) throw new FramingError('KeyPackage version is not mls10');
  const cipherSuite = r.u16('cipher suite');
  if (cipherSuite !== 1) throw new FramingError(`Cipher suite ${cipherSuite} is not 1`);
  expectSize(r.opaque('init key'), KEY_BYTES, 'The init key');
  // LeafNode
  expectSize(r.opaque('encryption key'), KEY_BYTES, 'The encryption key');
  const signatureKey = expectSize(r.opaque('signature key'), KEY_BYTES, 'The signature key');
  const identity = readCredential(r);
  readCapabilities(r);
  const source = r.u8('leaf node source');
  if (source !== LEAF_SOURCE_KEY_PACKAGE) throw new FramingError(`Leaf node source ${source} is not key_package (1)`);
  const notBefore = r.u64('lifetime');
  const notAfter = r.u64('lifetime');
  if (notAfter < notBefore) throw new FramingError('The lifetime ends before it starts');
  readExtensions(r, 'leaf node extensions');
  expectSize(r.opaque('leaf node signature'), SIGNATURE_BYTES, 'The leaf node signature');
  // Back in the KeyPackage
  readExtensions(r, 'KeyPackage extensions');
  expectSize(r.opaque('KeyPackage signature'), SIGNATURE_BYTES, 'The KeyPackage signature');
  if (!r.done) throw new FramingError('Bytes follow the KeyPackage');
  return { cipherSuite, signatureKey, identity, notBefore, notAfter, ref: keyPackageRef(bytes.subarray(start)) };
}

/** RefHash("MLS 1.0 KeyPackage Reference", KeyPackage) with SHA-256, the hash of cipher suite 1. */
function keyPackageRef(keyPackage: Uint8Array): Buffer {
  const label = Buffer.from('MLS 1.0 KeyPackage Reference');
  return createHash('sha256')
    .update(Buffer.concat([varintOf(label.length), label, varintOf(keyPackage.length), keyPackage]))
    .digest();
}

function varintOf(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  return Buffer.from([0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

export interface DeviceCertFrame {
  userId: string;
  deviceId: string;
  issuedAt: bigint;
  aikId: Uint8Array;
}

/**
 * Reads a device certificate (docs: DeviceCert v1): `uint8 version = 1; opaque user_id<V>;
 * opaque device_id<V>; uint64 issued_at; opaque aik_id<V>; opaque signature<V>`, ids in UTF-8.
 * Throws FramingError for anything else.
 */
export function readDeviceCert(bytes: Uint8Array): DeviceCertFrame {
  const r = new Reader(bytes);
  const version = r.u8('certificate version');
  if (version !== 1) throw new FramingError(`Certificate version ${version} is not 1`);
  const userId = utf8(r.opaque('user id'), 'The user id');
  const deviceId = utf8(r.opaque('device id'), 'The device id');
  const issuedAt = r.u64('issued at');
  const aikId = expectSize(r.opaque('identity key id'), 16, 'The identity key id');
  expectSize(r.opaque('certificate signature'), SIGNATURE_BYTES, 'The certificate signature');
  if (!r.done) throw new FramingError('Bytes follow the certificate');
  return { userId, deviceId, issuedAt, aikId };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Uint8Array, what: string): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new FramingError(`${what} is not UTF-8`);
  }
}
