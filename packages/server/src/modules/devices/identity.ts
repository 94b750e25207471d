import { MAX_RECOVERY_BLOB_BYTES, type Identity } from '@parley/protocol';
import { isUniqueViolation } from '../../adapters/db/database.ts';
import { AppError } from '../../lib/errors.ts';
import { verifyPassword } from '../../lib/passwords.ts';
import { failedWith, limitFailures, rateLimited, takePoint } from '../../lib/rate-limit.ts';
import { takeWritePoint, withinReadLimits } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { recordUserEvent } from '../sync/event-log.ts';
import { commit } from '../sync/unit-of-work.ts';
import * as store from './devices.store.ts';
import { toIdentity } from './views.ts';

/** The bytes of a base64 field; the schema bounds its length only to within two bytes, so this checks the size. */
export function bytesOf(base64: string, options: { max: number; what: string }): Buffer {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length > options.max) throw new AppError('invalid_request', `${options.what} is ${bytes.length} bytes, more than ${options.max}`);
  return bytes;
}

export function userNotFound(userId: string): AppError {
  return new AppError('not_found', `User "${userId}" was not found`);
}

export interface PutIdentityInput {
  publicKey: string;
  recoveryBlob?: string;
  reset?: boolean;
  password?: string;
}

/** The password again, limited like every other re-entry of it (a stolen token must not guess it). */
async function confirmPassword(s: Services, actor: Actor, password: string): Promise<void> {
  await limitFailures(
    { limiter: s.limiters.passwordChecks, key: actor.userId, what: 'wrong passwords', counts: failedWith('invalid_credentials') },
    async () => {
      const hash = await store.passwordHash(s.db.kysely, actor.userId);
      if (!hash || !(await verifyPassword(hash, password))) throw new AppError('invalid_credentials', 'The password is wrong: the identity key was not reset');
    },
  );
}

/**
 * Sets my account identity key. The first call creates it (version 1); the same key again only
 * replaces the recovery blob (a retry, or a new recovery key). Another key is a reset, for someone
 * who lost every device and the recovery key: it needs `reset` and the password, counts the version
 * up and ends every device of mine (their sessions go on; each registers again under the new key).
 */
export async function putIdentity(s: Services, actor: Actor, input: PutIdentityInput): Promise<Identity> {
  await takeWritePoint(s, actor);
  const publicKey = bytesOf(input.publicKey, { max: 32, what: 'The identity key' });
  const recoveryBlob = input.recoveryBlob === undefined ? null : bytesOf(input.recoveryBlob, { max: MAX_RECOVERY_BLOB_BYTES, what: 'The recovery blob' });
  if (input.reset) {
    if (input.password === undefined) throw new AppError('invalid_request', 'Resetting the identity key needs the password');
    await confirmPassword(s, actor, input.password);
  }
  return commit(s, async (work) => {
    const current = await store.lockIdentity(work.tx, actor.userId);
    if (!current) {
      const row = { user_id: actor.userId, public_key: publicKey, version: 1, recovery_blob: recoveryBlob, created_at: work.now, updated_at: work.now };
      try {
        await store.insertIdentity(work.tx, row);
      } catch (err) {
        // Two first calls at once: one wins; the other is told as if it came second.
        if (isUniqueViolation(err)) throw new AppError('identity_exists', 'This account already has an identity key');
        throw err;
      }
      return toIdentity(row);
    }
    if (!current.public_key.equals(publicKey)) {
      if (!input.reset) throw new AppError('identity_exists', 'This account already has another identity key');
      await store.replaceIdentity(work.tx, { userId: actor.userId, publicKey, recoveryBlob, now: work.now });
      // Certificates of the old key are worth nothing now: every device starts over.
      const ended = await store.endDeviceRows(work.tx, { deviceIds: await store.liveDeviceIds(work.tx, actor.userId), now: work.now });
      for (const d of ended) await recordUserEvent(work, actor.userId, { type: 'device.ended', deviceId: d.id });
      return toIdentity({ ...current, public_key: publicKey, recovery_blob: recoveryBlob, version: current.version + 1, updated_at: work.now });
    }
    if (recoveryBlob === null) return toIdentity(current);
    await store.updateRecoveryBlob(work.tx, { userId: actor.userId, recoveryBlob, now: work.now });
    return toIdentity({ ...current, recovery_blob: recoveryBlob, updated_at: work.now });
  });
}

/** Anyone signed in may read the identity key of a live account: it is what they pin and verify. */
export async function getIdentity(s: Services, actor: Actor, userId: string): Promise<Identity> {
  return withinReadLimits(s, actor, async () => {
    const row = (await store.userExists(s.db.kysely, userId)) ? await store.findIdentity(s.db.kysely, userId) : undefined;
    if (!row) throw new AppError('not_found', `No identity key for user "${userId}" was found`);
    return toIdentity(row);
  });
}

/**
 * My recovery blob, under the same limit as a password check: a stolen access token must not give
 * unlimited tries at the escrow (the recovery key itself is 256 random bits; this keeps copies few).
 */
export async function getRecovery(s: Services, actor: Actor): Promise<{ recoveryBlob: string }> {
  const limited = await takePoint(s.limiters.passwordChecks, `recovery:${actor.userId}`);
  if (limited) throw rateLimited(limited, 'recovery requests');
  const row = await store.findIdentity(s.db.kysely, actor.userId);
  if (!row?.recovery_blob) throw new AppError('not_found', 'This account has no recovery blob');
  return { recoveryBlob: row.recovery_blob.toString('base64') };
}
