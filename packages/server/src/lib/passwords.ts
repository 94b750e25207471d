import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// 2 is Algorithm.Argon2id (a const enum, which cannot be imported under verbatimModuleSyntax).
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/** Spends the same time as a real check, so an unknown user cannot be told from a wrong password. */
export async function verifyNothing(password: string): Promise<false> {
  dummy ??= hashPassword('parley-dummy-password');
  await verifyPassword(await dummy, password);
  return false;
}

/** A random password for an operator to hand over (96 bits). */
export function newPassword(): string {
  return randomBytes(12).toString('base64url');
}
