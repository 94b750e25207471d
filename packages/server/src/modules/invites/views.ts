import type { Invite, InviteUse } from '@parley/protocol';
import type { InvitesTable } from '../../adapters/db/schema.ts';
import { iso, isoOrNull } from '../../lib/time.ts';

/** `code` is shown once, to whoever created the invite. */
export function toInvite(row: InvitesTable, code?: string, usedBy: InviteUse[] = []): Invite {
  return {
    id: row.id,
    ...(code ? { code } : {}),
    codeHint: row.code_hint,
    maxUses: row.max_uses,
    uses: row.uses,
    admin: row.admin === 1,
    createdAt: iso(row.created_at),
    expiresAt: isoOrNull(row.expires_at),
    revokedAt: isoOrNull(row.revoked_at),
    usedBy,
  };
}

export function toInviteUse(row: { user_id: string; username: string | null; display_name: string; used_at: number }): InviteUse {
  return { userId: row.user_id, username: row.username, displayName: row.display_name, usedAt: iso(row.used_at) };
}
