import { useEffect, useState } from 'preact/hooks';
import type { Invite } from '@parley/sdk';
import { client } from '../state/app-state.ts';
import { errorText, formValues } from './shared/form-helpers.ts';
import { formatFull } from './shared/format.ts';
import { PaneHeader } from './shared/pane-header.tsx';

function inviteLink(code: string): string {
  return `${location.origin}/#/register?code=${encodeURIComponent(code)}`;
}

export function InvitesScreen() {
  const [invites, setInvites] = useState<Invite[]>([]);
  const [created, setCreated] = useState<Invite | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = () =>
    client
      .listInvites()
      .then((r) => setInvites(r.invites))
      .catch((err) => setError(errorText(err)));
  useEffect(() => {
    void reload();
  }, []);

  async function create(e: Event) {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    setError(null);
    try {
      setCreated(await client.createInvite({ maxUses: Number(v.uses) || 1, expiresInSeconds: Number(v.days) * 86_400 }));
      setStatus(null);
      await reload();
    } catch (err) {
      setError(errorText(err));
    }
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
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
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
              const state = i.revokedAt ? 'revoked' : i.expiresAt && Date.parse(i.expiresAt) < Date.now() ? 'expired' : i.uses >= i.maxUses ? 'used up' : 'active';
              return (
                <li key={i.id}>
                  <span>
                    <code>{i.codeHint}…</code> · {i.uses}/{i.maxUses} used · {state}
                    <span class="hint"> · {i.expiresAt ? `expires ${formatFull(i.expiresAt)}` : 'never expires'}</span>
                  </span>
                  {state === 'active' && (
                    <button type="button" class="danger" aria-label={`Revoke invite ${i.codeHint}`} onClick={() => client.revokeInvite({ inviteId: i.id }).then(reload, (err) => setError(errorText(err)))}>
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
