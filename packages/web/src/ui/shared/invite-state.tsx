import type { Invite } from '@parley/sdk';
import { formatFull } from './format.ts';

/** Whether an invite can still be used, and if not why. */
export function inviteState(i: Invite): 'revoked' | 'expired' | 'used up' | 'active' {
  if (i.revokedAt) return 'revoked';
  if (i.expiresAt && Date.parse(i.expiresAt) < Date.now()) return 'expired';
  return i.uses >= i.maxUses ? 'used up' : 'active';
}

/** "Used by @bob (date), @carol (date)": who registered with an invite. */
export function InviteUsers({ invite }: { invite: Invite }) {
  const used = invite.usedBy ?? [];
  if (used.length === 0) return null;
  return (
    <span class="invite-users">
      Used by{' '}
      {used.map((u, n) => (
        <span key={u.userId}>
          {n > 0 && ', '}
          <span title={formatFull(u.usedAt)}>{u.username ? `@${u.username}` : 'a deleted account'}</span>
        </span>
      ))}
    </span>
  );
}
