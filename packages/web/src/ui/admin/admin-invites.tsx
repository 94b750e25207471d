import { useState } from 'preact/hooks';
import type { Invite, ParleyClient } from '@parley/sdk';
import { ErrorText } from '../shared/error-text.tsx';
import { formValues } from '../shared/form-helpers.ts';
import { formatFull } from '../shared/format.ts';
import { useResource } from '../shared/use-resource.ts';
import { InviteUsers, inviteState } from '../shared/invite-state.tsx';

/** Every invite, whoever made it (the CLI's included), with who used it; new ones, and revoking one's own. */
export function AdminInvites({ client }: { client: ParleyClient }) {
  // The server lets people revoke only their own invites, so those are the ones with a Revoke button.
  const list = useResource(async () => {
    const [all, own] = await Promise.all([client.listAllInvites(), client.listInvites()]);
    return { invites: all.invites, own: new Set(own.invites.map((i) => i.id)) };
  }, []);
  const [created, setCreated] = useState<Invite | null>(null);

  function create(e: Event) {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    void list.act(async () => setCreated(await client.createInvite({ maxUses: Number(v.uses) || 1, expiresInSeconds: Number(v.days) * 86_400 })));
  }

  const invites = list.data?.invites ?? [];
  return (
    <>
      <ErrorText error={list.error} />
      <form class="card" aria-label="Create an invite" onSubmit={create}>
        <div class="admin-fields">
          <label>
            Uses
            <input name="uses" type="number" min={1} max={1000} defaultValue="1" required />
          </label>
          <label>
            Valid for (days)
            <input name="days" type="number" min={1} max={365} defaultValue="7" required />
          </label>
        </div>
        <button type="submit" class="primary">
          Create invite
        </button>
        {created?.code && (
          <div class="admin-secret" role="status">
            <label>
              New invite link
              <input readOnly value={`${location.origin}/#/register?code=${encodeURIComponent(created.code)}`} onFocus={(e) => e.currentTarget.select()} />
            </label>
            <p class="hint">
              Code <code>{created.code}</code>, shown only now.
            </p>
          </div>
        )}
      </form>
      <div class="card">
        <h3>All invites</h3>
        {list.data && invites.length === 0 && <p class="hint">None yet.</p>}
        <ul class="invites" aria-label="All invites">
          {invites.map((i) => {
            const state = inviteState(i);
            return (
              <li key={i.id}>
                <span>
                  <code>{i.codeHint}…</code> · {i.uses}/{i.maxUses} used · {state}
                  {i.admin && ' · makes administrators'}
                  <span class="hint">
                    {' '}
                    · made {formatFull(i.createdAt)}
                    {list.data?.own.has(i.id) ? ' by you' : ''}
                  </span>
                  <InviteUsers invite={i} />
                </span>
                {state === 'active' && list.data?.own.has(i.id) && (
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Revoke invite ${i.codeHint}`}
                    onClick={() => list.act(() => client.revokeInvite({ inviteId: i.id }))}
                  >
                    Revoke
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      </div>
    </>
  );
}
