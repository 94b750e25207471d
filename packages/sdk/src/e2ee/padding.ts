import { E2eeError } from './errors.ts';

// Application-level padding (E2EE design §5.1): a payload is padded to the next power-of-two bucket from 256 B to
// 32 KiB before MLS encrypts it, so ciphertext sizes leak only the bucket. ISO/IEC 7816-4 style: one 0x80 byte then
// zeros, which removes unambiguously.

const MIN_BUCKET = 256;
const MAX_BUCKET = 32 * 1024;

/** Largest payload that fits the biggest bucket. */
export const MAX_PAYLOAD_BYTES = MAX_BUCKET - 1;

export function padPayload(payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new E2eeError('e2ee_payload_too_large', `A payload of ${payload.length} bytes is over ${MAX_PAYLOAD_BYTES}`);
  }
  let bucket = MIN_BUCKET;
  while (bucket < payload.length + 1) bucket *= 2;
  const out = new Uint8Array(bucket);
  out.set(payload);
  out[payload.length] = 0x80;
  return out;
}

export function unpadPayload(padded: Uint8Array): Uint8Array {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x80) throw new E2eeError('e2ee_malformed', 'Could not remove the payload padding');
  return padded.slice(0, end);
}
