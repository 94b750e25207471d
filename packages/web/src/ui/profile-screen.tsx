import { useState } from 'preact/hooks';
import { client, me, signOut } from '../state/app-state.ts';
import { errorText, formValues } from './shared/form-helpers.ts';
import { PaneHeader } from './shared/pane-header.tsx';

export function ProfileScreen() {
  const [status, setStatus] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const account = me.value;
  if (!account) return null;

  async function act(e: Event, fn: (v: Record<string, string>) => Promise<string>) {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    setStatus(null);
    try {
      setStatus({ kind: 'ok', text: await fn(formValues(form)) });
      form.reset();
    } catch (err) {
      setStatus({ kind: 'error', text: errorText(err) });
    }
  }

  return (
    <section class="pane page" aria-labelledby="profile-title">
      <PaneHeader title="Profile" id="profile-title" />
      <div class="page-body">
        {status && (
          <p class={status.kind === 'ok' ? 'info' : 'error'} role={status.kind === 'ok' ? 'status' : 'alert'}>
            {status.text}
          </p>
        )}
        <form
          class="card"
          aria-label="Profile"
          onSubmit={(e) =>
            act(e, async (v) => {
              me.value = await client.updateMe({ displayName: v.displayName!.trim() });
              return 'Profile saved';
            })
          }
        >
          <p>
            Username <strong>@{account.username}</strong>
            {account.isAdmin && <span class="hint"> · administrator</span>}
          </p>
          <label>
            Display name
            <input name="displayName" required maxLength={64} defaultValue={account.displayName} />
          </label>
          <button type="submit">Save</button>
        </form>
        <form
          class="card"
          aria-label="Change password"
          onSubmit={(e) =>
            act(e, async (v) => {
              if (v.newPassword !== v.confirm) throw new Error('The new passwords do not match');
              await client.changePassword({ currentPassword: v.currentPassword!, newPassword: v.newPassword! });
              return 'Password changed; your other devices were signed out';
            })
          }
        >
          <h3>Password</h3>
          <label>
            Current password
            <input name="currentPassword" type="password" autocomplete="current-password" required />
          </label>
          <label>
            New password
            <input name="newPassword" type="password" autocomplete="new-password" required minLength={8} />
          </label>
          <label>
            Repeat new password
            <input name="confirm" type="password" autocomplete="new-password" required minLength={8} />
          </label>
          <button type="submit">Change password</button>
        </form>
        <div class="card">
          <button type="button" onClick={() => void signOut()}>
            Log out
          </button>
        </div>
        <form
          class="card danger-zone"
          aria-label="Delete account"
          onSubmit={(e) =>
            act(e, async (v) => {
              if (!confirm('Delete your account? This cannot be undone.')) return 'Kept your account';
              await client.deleteAccount({ password: v.password! });
              await signOut();
              return 'Account deleted';
            })
          }
        >
          <h3>Delete account</h3>
          <p class="hint">Your messages stay in chats, shown as from a deleted account.</p>
          <label>
            Password
            <input name="password" type="password" autocomplete="current-password" required />
          </label>
          <button type="submit" class="danger">
            Delete my account
          </button>
        </form>
      </div>
    </section>
  );
}
