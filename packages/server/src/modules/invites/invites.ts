import { randomBytes } from 'node:crypto';
import type { Invite, InviteUse } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { DB } from '../../adapters/db/schema.ts';
import type { InvitesTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { hashToken, newId } from '../../lib/ids.ts';
import type { Actor, Services } from '../services.ts';
import { commit } from '../sync/unit-of-work.ts';
import * as store from './invites.store.ts';
import { toInvite, toInviteUse } from './views.ts';

export const DEFAULT_INVITE_TTL_S = 7 * 86_400;
const DAY_MS = 86_400_000;

export interface CreateInviteInput {
  maxUses?: number;
  expiresInSeconds?: number | null;
  admin?: boolean;
}

/**
 * Creates an invite. `creator` null means the operator (CLI): no limit, may mint admin invites.
 * Users may create a limited number per day; administrators are not limited.
 */
export async function createInvite(s: Services, creator: Actor | null, input: CreateInviteInput): Promise<Invite> {
  const code = randomBytes(16).toString('base64url');
  const now = s.now();
  const ttl = input.expiresInSeconds === undefined ? DEFAULT_INVITE_TTL_S : input.expiresInSeconds;
  const row: InvitesTable = {
    id: newId(),
    code_hash: hashToken(code),
    code_hint: code.slice(0, 4),
    created_by: creator?.userId ?? null,
    admin: creator === null && input.admin ? 1 : 0,
    max_uses: input.maxUses ?? 1,
    uses: 0,
    created_at: now,
    expires_at: ttl === null ? null : now + ttl * 1000,
    revoked_at: null,
  };
  await commit(s, async ({ tx }) => {
    if (creator && !creator.isAdmin) {
      const created = await store.lockAndCountCreatedSince(tx, { userId: creator.userId, since: now - DAY_MS });
      const max = s.config.limits.invitesPerDay;
      if (created >= max) throw new AppError('invite_limit_reached', `You can create ${max} invites a day; try again tomorrow`);
    }
    await store.insertInvite(tx, row);
  });
  return toInvite(row, code);
}

/** Invites with who used them: a user's own, or every one when `userId` is null (admins). */
export async function listInvites(s: Services, userId: string | null): Promise<Invite[]> {
  const rows = await store.listInviteRows(s.db.kysely, userId);
  const byInvite = new Map<string, InviteUse[]>();
  for (const u of await store.listUses(
    s.db.kysely,
    rows.filter((r) => r.uses > 0).map((r) => r.id),
  )) {
    const list = byInvite.get(u.invite_id) ?? [];
    list.push(toInviteUse(u));
    byInvite.set(u.invite_id, list);
  }
  return rows.map((r) => toInvite(r, undefined, byInvite.get(r.id)));
}

export async function revokeInvite(s: Services, actor: Actor, inviteId: string): Promise<void> {
  const row = await store.findOwnInvite(s.db.kysely, { inviteId, userId: actor.userId });
  if (!row) throw new AppError('not_found', `Invite "${inviteId}" was not found`);
  if (row.revoked_at === null) await store.setRevoked(s.db.kysely, inviteId, s.now());
}

/** Takes one use of an invite code inside the registering transaction, or fails with why it cannot be used. */
export async function consumeInvite(tx: Tx, options: { code: string; now: number }): Promise<{ admin: boolean; inviteId: string }> {
  const invite = await usableInvite(tx, options);
  if (!(await store.takeUse(tx, invite))) throw new AppError('invite_used_up', 'The invite code has been used up');
  return { admin: invite.admin === 1, inviteId: invite.id };
}

/** Records who took a use, in the same transaction, once the account's row exists. */
export async function recordInviteUse(tx: Tx, options: { inviteId: string; userId: string; now: number }): Promise<void> {
  await store.insertUse(tx, { invite_id: options.inviteId, user_id: options.userId, used_at: options.now });
}

/** The invite a code names if it can be used now, or fails with why not; takes no use. */
export async function usableInvite(db: Kysely<DB>, options: { code: string; now: number }) {
  const invite = await store.findByCodeHash(db, hashToken(options.code));
  if (!invite) throw new AppError('invite_invalid', 'The invite code is not valid');
  if (invite.created_by !== null && (invite.disabled_at != null || invite.deleted_at != null)) {
    throw new AppError('invite_invalid', 'The invite code is not valid: its creator can no longer invite');
  }
  if (invite.revoked_at !== null) throw new AppError('invite_revoked', 'The invite code was revoked');
  if (invite.expires_at !== null && invite.expires_at <= options.now) throw new AppError('invite_expired', 'The invite code has expired');
  if (invite.uses >= invite.max_uses) throw new AppError('invite_used_up', 'The invite code has been used up');
  return invite;
}
