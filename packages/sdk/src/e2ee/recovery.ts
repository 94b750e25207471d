import { buf, TlsReader, TlsWriter } from './codec.ts';
import { E2eeError } from './errors.ts';
import { exportAik, importAik, type Aik } from './identity.ts';

// The recovery key (E2EE design §4.1): 256 random bits the user writes down, shown as 52 base32 characters in groups
// of 4. HKDF-SHA-256 turns it into an AES-256-GCM key that encrypts the AIK escrow blob kept by the server. Never
// derived from the password: the server sees the password at every login.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const KEY_BYTES = 32;
const KEY_CHARS = 52;
const BLOB_VERSION = 1;
const INFO = new TextEncoder().encode('parley aik escrow v1');

/** 32 random bytes, e.g. `const key = generateRecoveryKey(); show(formatRecoveryKey(key))`. */
export function generateRecoveryKey(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(KEY_BYTES));
}

/** "ABCD EFGH …": 13 groups of 4 base32 characters (RFC 4648 alphabet, no padding). */
export function formatRecoveryKey(key: Uint8Array): string {
  if (key.length !== KEY_BYTES) throw new E2eeError('e2ee_recovery_key_invalid', `A recovery key has ${KEY_BYTES} bytes, not ${key.length}`);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of key) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out.match(/.{1,4}/g)!.join(' ');
}

/** Reads a recovery key as typed: case, spaces and dashes do not matter; anything else is refused. */
export function parseRecoveryKey(text: string): Uint8Array {
  const chars = text.toUpperCase().replace(/[\s-]/g, '');
  if (chars.length !== KEY_CHARS || [...chars].some((c) => !ALPHABET.includes(c))) {
    throw new E2eeError('e2ee_recovery_key_invalid', `A recovery key is ${KEY_CHARS} characters of A–Z and 2–7`);
  }
  const out = new Uint8Array(KEY_BYTES);
  let bits = 0;
  let value = 0;
  let index = 0;
  for (const c of chars) {
    value = (value << 5) | ALPHABET.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out[index++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
      value &= (1 << bits) - 1;
    }
  }
  // 52 characters carry 260 bits: the 4 spare bits must be zero, or two spellings would name one key.
  if (value !== 0) throw new E2eeError('e2ee_recovery_key_invalid', 'The recovery key does not end in a valid character');
  return out;
}

async function escrowKey(recoveryKey: Uint8Array): Promise<CryptoKey> {
  const ikm = await globalThis.crypto.subtle.importKey('raw', buf(recoveryKey), 'HKDF', false, ['deriveKey']);
  return globalThis.crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: INFO },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

// The blob is bound to its user: a blob moved to another account does not open.
function aad(userId: string): Uint8Array<ArrayBuffer> {
  return buf(new TlsWriter().raw(INFO).string(userId).finish());
}

/** Encrypts the AIK under the recovery key: `version u8 || iv[12] || AES-256-GCM(pkcs8)`. */
export async function sealAikEscrow(options: { aik: Aik; recoveryKey: Uint8Array; userId: string }): Promise<Uint8Array> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const plain = await exportAik(options.aik);
  const key = await escrowKey(options.recoveryKey);
  const sealed = await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad(options.userId) }, key, buf(plain));
  plain.fill(0);
  return new TlsWriter().u8(BLOB_VERSION).raw(iv).raw(new Uint8Array(sealed)).finish();
}

/** Opens an escrow blob; a wrong key, another user's blob or a tampered blob all give `e2ee_recovery_failed`. */
export async function openAikEscrow(options: { blob: Uint8Array; recoveryKey: Uint8Array; userId: string }): Promise<Aik> {
  const r = new TlsReader(options.blob, 'recovery blob');
  const version = r.u8();
  if (version !== BLOB_VERSION) throw new E2eeError('e2ee_malformed', `Unknown recovery blob version ${version}`);
  const iv = r.raw(12).slice();
  const sealed = r.raw(options.blob.length - 13).slice();
  let plain: Uint8Array;
  try {
    const key = await escrowKey(options.recoveryKey);
    plain = new Uint8Array(await globalThis.crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad(options.userId) }, key, sealed));
  } catch (err) {
    throw new E2eeError('e2ee_recovery_failed', 'The recovery key does not open this identity backup', { cause: err });
  }
  try {
    return await importAik(plain);
  } finally {
    plain.fill(0);
  }
}
