import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/** An opaque 256-bit token, URL-safe. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Tokens (and invite codes) are stored only as this hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newId(): string {
  return randomUUID();
}

/**
 * An id for rows written in time order, such as messages: a time-ordered UUID (version 7), so
 * each insert lands at the end of the id index instead of on a random page of it.
 */
export function newOrderedId(): string {
  return uuidv7();
}
