import { randomBytes } from 'node:crypto';
import type { Invite } from '@parley/protocol';
import type { Tx } from '../../adapters/db/database.ts';
import type { InvitesTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../errors.ts';
import type { Actor, Services } from '../../services.ts';
import { hashToken, newId } from '../sessions/tokens.ts';
import { iso } from '../sessions/views.ts';

export const DEFAULT_INVITE_TTL_S = 7 * 86_400;
const DAY_MS = 86_400_000;

export interface CreateInviteInput {
  maxUses?: number;
  expiresInSeconds?: number | null;
  admin?: boolean;
}

function toInvite(row: InvitesTable, code?: string): Invite {
  return {
    id: row.id,
    ...(code ? { code } : {}),
    codeHint: row.code_hint,
    maxUses: row.max_uses,
    uses: row.uses,
    admin: row.admin === 1,
    createdAt: iso(row.created_at),
    expiresAt: row.expires_at === null ? null : iso(row.expires_at),
    revokedAt: row.revoked_at === null ? null : iso(row.revoked_at),
  };
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
  await s.db.transaction(async (tx) => {
    if (creator && !creator.isAdmin) {
      await s.db.forUpdate(tx.selectFrom('users').select('id').where('id', '=', creator.userId)).execute();
      const { n } = await tx
        .selectFrom('invites')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('created_by', '=', creator.userId)
        .where('created_at', '>', now - DAY_MS)
        .executeTakeFirstOrThrow();
      if (Number(n) >= s.config.limits.invitesPerDay) {
        throw new AppError('invite_limit_reached', `You can create ${s.config.limits.invitesPerDay} invites a day; try again tomorrow`);
      }
    }
    await tx.insertInto('invites').values(row).execute();
  });
  return toInvite(row, code);
}

export async function listInvites(s: Services, userId: string | null): Promise<Invite[]> {
  let q = s.db.kysely.selectFrom('invites').selectAll().orderBy('created_at', 'desc');
  q = userId === null ? q : q.where('created_by', '=', userId);
  return (await q.execute()).map((r) => toInvite(r));
}

export async function revokeInvite(s: Services, actor: Actor, inviteId: string): Promise<void> {
  const row = await s.db.kysely
    .selectFrom('invites')
    .select(['id', 'revoked_at'])
    .where('id', '=', inviteId)
    .where('created_by', '=', actor.userId)
    .executeTakeFirst();
  if (!row) throw new AppError('not_found', `Invite "${inviteId}" was not found`);
  if (row.revoked_at === null) {
    await s.db.kysely.updateTable('invites').set({ revoked_at: s.now() }).where('id', '=', inviteId).execute();
  }
}

/** Uses one registration of an invite inside the registering transaction; throws why it cannot. */
export async function consumeInvite(tx: Tx, code: string, now: number): Promise<{ admin: boolean }> {
  const invite = await tx
    .selectFrom('invites')
    .leftJoin('users', 'users.id', 'invites.created_by')
    .select(['invites.id', 'invites.admin', 'invites.max_uses', 'invites.uses', 'invites.expires_at', 'invites.revoked_at', 'invites.created_by', 'users.disabled_at', 'users.deleted_at'])
    .where('invites.code_hash', '=', hashToken(code))
    .executeTakeFirst();
  if (!invite) throw new AppError('invite_invalid', 'The invite code is not valid');
  if (invite.created_by !== null && (invite.disabled_at != null || invite.deleted_at != null)) {
    throw new AppError('invite_invalid', 'The invite code is not valid: its creator can no longer invite');
  }
  if (invite.revoked_at !== null) throw new AppError('invite_revoked', 'The invite code was revoked');
  if (invite.expires_at !== null && invite.expires_at <= now) throw new AppError('invite_expired', 'The invite code has expired');
  // The guarded increment makes concurrent registrations race for the last use safely.
  const used = await tx
    .updateTable('invites')
    .set((eb) => ({ uses: eb('uses', '+', 1) }))
    .where('id', '=', invite.id)
    .where('uses', '<', invite.max_uses)
    .executeTakeFirst();
  if (Number(used.numUpdatedRows) === 0) throw new AppError('invite_used_up', 'The invite code has been used up');
  return { admin: invite.admin === 1 };
}
