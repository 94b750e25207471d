import type { AddPolicy } from '@parley/sdk';
import { useServices } from './app-context.ts';
import { ErrorText } from './shared/error-text.tsx';
import { useAction } from './shared/use-action.ts';
import { useResource } from './shared/use-resource.ts';
import { PaneHeader } from './shared/pane-header.tsx';
import { PicturePicker } from './shared/picture-picker.tsx';
import { ExportData } from './export-data.tsx';

const ADD_POLICIES: { value: AddPolicy; label: string }[] = [
  { value: 'everyone', label: 'Everyone' },
  { value: 'contacts', label: 'People I share a chat with' },
  { value: 'nobody', label: 'Nobody: invite me instead' },
];

/** Groups and channels I was invited to by people my setting does not let add me. */
function ChatInvitations() {
  const { client } = useServices();
  const invitations = useResource(async () => (await client.listChatInvitations()).invitations, []);
  const list = invitations.data ?? [];
  if (list.length === 0 && !invitations.error) return null;
  return (
    <section class="card" aria-label="Invitations">
      <h3>Invitations</h3>
      <ErrorText error={invitations.error} />
      <ul class="plain-list">
        {list.map((i) => (
          <li key={i.chatId}>
            <span>
              <strong>{i.title}</strong>{' '}
              <span class="hint">
                ({i.kind}) from {i.invitedBy.displayName}
              </span>
            </span>{' '}
            <button type="button" onClick={() => void invitations.act(() => client.acceptChatInvitation({ chatId: i.chatId }))}>
              Join
            </button>{' '}
            <button type="button" onClick={() => void invitations.act(() => client.declineChatInvitation({ chatId: i.chatId }))}>
              Decline
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ProfileScreen() {
  const { app, client } = useServices();
  const action = useAction();
  const account = app.session.me.value;
  if (!account) return null;

  return (
    <section class="pane page" aria-labelledby="profile-title">
      <PaneHeader title="Profile" id="profile-title" />
      <div class="page-body">
        {action.done && (
          <p class="info" role="status">
            {action.done}
          </p>
        )}
        <ErrorText error={action.error} />
        <ChatInvitations />
        <PicturePicker
          label="My picture"
          name={account.displayName}
          fileId={account.avatarFileId}
          save={async (avatarFileId) => app.session.accountUpdated(await client.updateMe({ avatarFileId }))}
        />
        <form
          class="card"
          aria-label="Profile"
          onSubmit={action.form(
            async (v) => {
              app.session.accountUpdated(await client.updateMe({ displayName: v.displayName!.trim(), addPolicy: v.addPolicy as AddPolicy }));
              return 'Profile saved';
            },
            { reset: true },
          )}
        >
          <p>
            Username <strong>@{account.username}</strong>
            {account.isAdmin && <span class="hint"> · administrator</span>}
          </p>
          <label>
            Display name
            <input name="displayName" required maxLength={64} defaultValue={account.displayName} />
          </label>
          <label>
            Who can add me to groups and channels
            <select name="addPolicy" defaultValue={account.addPolicy}>
              {ADD_POLICIES.map((p) => (
                <option key={p.value} value={p.value}>
                  {p.label}
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Save</button>
        </form>
        <form
          class="card"
          aria-label="Change password"
          onSubmit={action.form(
            async (v) => {
              if (v.newPassword !== v.confirm) throw new Error('The new passwords do not match');
              await client.changePassword({ currentPassword: v.currentPassword!, newPassword: v.newPassword! });
              return 'Password changed; your other devices were signed out';
            },
            { reset: true },
          )}
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
        <ExportData />
        <div class="card">
          <button type="button" onClick={() => void app.signOut()}>
            Log out
          </button>
        </div>
        <form
          class="card danger-zone"
          aria-label="Delete account"
          onSubmit={action.form(
            async (v) => {
              if (!confirm('Delete your account? This cannot be undone.')) return 'Kept your account';
              await client.deleteAccount({ password: v.password! });
              await app.signOut();
              return 'Account deleted';
            },
            { reset: true },
          )}
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
