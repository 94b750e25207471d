import type { Kysely } from 'kysely';
import { forUpdate, type Tx } from '../../adapters/db/database.ts';
import type { DB, InviteUsesTable, InvitesTable } from '../../adapters/db/schema.ts';

/** How many invites a user created since `since`, under the user's row lock (PostgreSQL) so the daily limit holds. */
export async function lockAndCountCreatedSince(tx: Tx, options: { userId: string; since: number }): Promise<number> {
  await forUpdate(tx, tx.selectFrom('users').select('id').where('id', '=', options.userId)).execute();
  const { n } = await tx
    .selectFrom('invites')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('created_by', '=', options.userId)
    .where('created_at', '>', options.since)
    .executeTakeFirstOrThrow();
  return Number(n);
}

export async function insertInvite(tx: Tx, row: InvitesTable): Promise<void> {
  await tx.insertInto('invites').values(row).execute();
}

/** Every invite, newest first; only a user's own when `createdBy` is given. */
export async function listInviteRows(db: Kysely<DB>, createdBy: string | null): Promise<InvitesTable[]> {
  let q = db.selectFrom('invites').selectAll().orderBy('created_at', 'desc');
  if (createdBy !== null) q = q.where('created_by', '=', createdBy);
  return q.execute();
}

export async function findOwnInvite(db: Kysely<DB>, options: { inviteId: string; userId: string }) {
  return db.selectFrom('invites').select(['id', 'revoked_at']).where('id', '=', options.inviteId).where('created_by', '=', options.userId).executeTakeFirst();
}

export async function setRevoked(db: Kysely<DB>, inviteId: string, at: number): Promise<void> {
  await db.updateTable('invites').set({ revoked_at: at }).where('id', '=', inviteId).execute();
}

/** The invite behind a code hash, with whether its creator may still invite. */
export async function findByCodeHash(db: Kysely<DB>, codeHash: string) {
  return db
    .selectFrom('invites')
    .leftJoin('users', 'users.id', 'invites.created_by')
    .select([
      'invites.id',
      'invites.admin',
      'invites.max_uses',
      'invites.uses',
      'invites.expires_at',
      'invites.revoked_at',
      'invites.created_by',
      'users.disabled_at',
      'users.deleted_at',
    ])
    .where('invites.code_hash', '=', codeHash)
    .executeTakeFirst();
}

/** Takes one use if any is left; false when none is. The guarded increment makes concurrent registrations race for the last use safely. */
export async function takeUse(tx: Tx, invite: { id: string; max_uses: number }): Promise<boolean> {
  const used = await tx
    .updateTable('invites')
    .set((eb) => ({ uses: eb('uses', '+', 1) }))
    .where('id', '=', invite.id)
    .where('uses', '<', invite.max_uses)
    .executeTakeFirst();
  return Number(used.numUpdatedRows) > 0;
}

export async function insertUse(tx: Tx, row: InviteUsesTable): Promise<void> {
  await tx.insertInto('invite_uses').values(row).execute();
}

/** The accounts registered with these invites, earliest first. */
export async function listUses(db: Kysely<DB>, inviteIds: string[]) {
  if (inviteIds.length === 0) return [];
  return db
    .selectFrom('invite_uses')
    .innerJoin('users', 'users.id', 'invite_uses.user_id')
    .select(['invite_uses.invite_id', 'invite_uses.user_id', 'invite_uses.used_at', 'users.username', 'users.display_name'])
    .where('invite_uses.invite_id', 'in', inviteIds)
    .orderBy('invite_uses.used_at')
    .orderBy('invite_uses.user_id')
    .execute();
}
