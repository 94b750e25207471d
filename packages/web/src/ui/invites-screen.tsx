import { useState } from 'preact/hooks';
import type { Invite } from '@parley/sdk';
import { useServices } from './app-context.ts';
import { ErrorText } from './shared/error-text.tsx';
import { formValues } from './shared/form-helpers.ts';
import { useResource } from './shared/use-resource.ts';
import { formatFull } from './shared/format.ts';
import { PaneHeader } from './shared/pane-header.tsx';
import { InviteUsers, inviteState } from './shared/invite-state.tsx';

function inviteLink(code: string): string {
  return `${location.origin}/#/register?code=${encodeURIComponent(code)}`;
}

export function InvitesScreen() {
  const { client } = useServices();
  const list = useResource(() => client.listInvites().then((r) => r.invites), []);
  const invites = list.data ?? [];
  const [created, setCreated] = useState<Invite | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  function create(e: Event) {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    void list.act(async () => {
      setCreated(await client.createInvite({ maxUses: Number(v.uses) || 1, expiresInSeconds: Number(v.days) * 86_400 }));
      setStatus(null);
    });
  }

  async function copy(text: string) {
    try {
      await navigator.clipboard.writeText(text);
      setStatus('Copied');
    } catch {
      // No clipboard access (e.g. plain http on another host): select the text for a manual copy.
      (document.getElementById('invite-code') as HTMLInputElement | null)?.select();
      setStatus('Press Ctrl+C to copy');
    }
  }

  return (
    <section class="pane page" aria-labelledby="invites-title">
      <PaneHeader title="Invites" id="invites-title" />
      <div class="page-body">
        <ErrorText error={list.error} />
        <form class="card" aria-label="Create an invite" onSubmit={create}>
          <label>
            Uses
            <input name="uses" type="number" min={1} max={1000} defaultValue="1" required />
          </label>
          <label>
            Valid for (days)
            <input name="days" type="number" min={1} max={365} defaultValue="7" required />
          </label>
          <button type="submit" class="primary">
            Create invite
          </button>
        </form>
        {created?.code && (
          <div class="card" role="status">
            <label>
              New invite code
              <input id="invite-code" readOnly value={created.code} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
            </label>
            <div class="actions-row">
              <button type="button" onClick={() => copy(created.code!)}>
                Copy code
              </button>
              <button type="button" onClick={() => copy(inviteLink(created.code!))}>
                Copy link
              </button>
              {status && <span class="hint">{status}</span>}
            </div>
            <p class="hint">The code is shown only now.</p>
          </div>
        )}
        <div class="card">
          <h3>Your invites</h3>
          {invites.length === 0 && <p class="hint">None yet.</p>}
          <ul class="invites" aria-label="Your invites">
            {invites.map((i) => {
              const state = inviteState(i);
              return (
                <li key={i.id}>
                  <span>
                    <code>{i.codeHint}…</code> · {i.uses}/{i.maxUses} used · {state}
                    <span class="hint"> · {i.expiresAt ? `expires ${formatFull(i.expiresAt)}` : 'never expires'}</span>
                    <InviteUsers invite={i} />
                  </span>
                  {state === 'active' && (
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
      </div>
    </section>
  );
}
