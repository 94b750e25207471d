import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from './codec.ts';

// Safety numbers per pair of users (E2EE design §6), built like Signal's numeric fingerprints: each user's half is
// 30 digits from SHA-512 iterated over (version || AIK public key || user id), and the two halves are sorted so both
// people see the same 60 digits. Only AIKs enter it, so devices coming and going never change it.

const FINGERPRINT_VERSION = Uint8Array.of(0, 0);
const ITERATIONS = 5200;
const utf8 = new TextEncoder();

export interface SafetyNumberParty {
  readonly userId: string;
  /** Raw Ed25519 AIK public key. */
  readonly aikPublicKey: Uint8Array;
}

// Synchronous SHA-512 from @noble/hashes: 5,200 awaited WebCrypto digests per half take about half a second.
function half(party: SafetyNumberParty): string {
  let hash = concatBytes(FINGERPRINT_VERSION, party.aikPublicKey, utf8.encode(party.userId));
  for (let i = 0; i < ITERATIONS; i++) {
    hash = sha512(concatBytes(hash, party.aikPublicKey));
  }
  let digits = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let value = 0;
    for (let i = 0; i < 5; i++) value = value * 256 + hash[chunk * 5 + i];
    digits += String(value % 100_000).padStart(5, '0');
  }
  return digits;
}

/**
 * The 60-digit safety number of two users, in 12 groups of 5, the same whichever side computes it, e.g.
 * `safetyNumber({ userId: me, aikPublicKey: myAik }, { userId: them, aikPublicKey: theirAik })`.
 */
export function safetyNumber(a: SafetyNumberParty, b: SafetyNumberParty): string {
  const halves = [half(a), half(b)].sort();
  return (halves[0] + halves[1]).match(/\d{5}/g)!.join(' ');
}
