import { useState } from 'preact/hooks';
import type { AdminAccount, ParleyClient } from '@parley/sdk';
import { ChoiceDialog } from '../shared/choice-dialog.tsx';
import { ErrorText } from '../shared/error-text.tsx';
import { formatFull } from '../shared/format.ts';
import { useAction } from '../shared/use-action.ts';
import { useResource } from '../shared/use-resource.ts';
import { saveDownload } from '../shared/save-download.ts';

type Question = { kind: 'disable' | 'enable' | 'reset' | 'end'; user: AdminAccount };

const QUESTIONS: Record<Question['kind'], { title: (u: AdminAccount) => string; body: string; label: string; danger: boolean }> = {
  disable: {
    title: (u) => `Disable @${u.username}?`,
    body: 'They are signed out everywhere and cannot sign in until enabled again.',
    label: 'Disable',
    danger: true,
  },
  enable: { title: (u) => `Enable @${u.username}?`, body: 'They can sign in again with their password.', label: 'Enable', danger: false },
  reset: {
    title: (u) => `Reset the password of @${u.username}?`,
    body: 'They are signed out everywhere. A new password is shown once, for you to hand over.',
    label: 'Reset password',
    danger: true,
  },
  end: { title: (u) => `Sign @${u.username} out of every device?`, body: 'They can sign in again.', label: 'End all sessions', danger: true },
};

/** Every account, searchable, and what an administrator may do to one. */
export function AdminUsers({ client, selfId }: { client: ParleyClient; selfId: string }) {
  const list = useResource(() => client.listAccounts().then((r) => r.users), []);
  const [query, setQuery] = useState('');
  const [openId, setOpenId] = useState<string | null>(null);
  const [deleted, setDeleted] = useState<string | null>(null);
  const q = query.trim().toLowerCase().replace(/^@/, '');
  const users = (list.data ?? []).filter((u) => !q || u.username.toLowerCase().includes(q) || u.displayName.toLowerCase().includes(q));
  return (
    <>
      <ErrorText error={list.error} />
      {deleted && (
        <p class="info" role="status">
          Account @{deleted} deleted
        </p>
      )}
      <div class="card">
        <label>
          Find a user
          <input type="search" value={query} placeholder="Username or name" onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        {list.data && (
          <p class="hint" role="status">
            {users.length} of {list.data.length} accounts
          </p>
        )}
        <ul class="admin-users" aria-label="Users">
          {users.map((u) => (
            <li key={u.id}>
              <button type="button" class="admin-user-line" aria-expanded={openId === u.id} onClick={() => setOpenId(openId === u.id ? null : u.id)}>
                <span class="who">
                  <strong>{u.displayName}</strong> <span class="hint">@{u.username}</span>
                </span>
                <span class="admin-badges">
                  {u.isAdmin && <span class="admin-badge">admin</span>}
                  {u.disabledAt && <span class="admin-badge off">disabled</span>}
                  <span class="hint">
                    {u.sessions} device{u.sessions === 1 ? '' : 's'}
                  </span>
                </span>
              </button>
              {openId === u.id && (
                <UserDetails
                  client={client}
                  user={u}
                  self={u.id === selfId}
                  changed={list.reload}
                  onDeleted={() => {
                    setDeleted(u.username);
                    void list.reload();
                  }}
                />
              )}
            </li>
          ))}
        </ul>
      </div>
    </>
  );
}

function UserDetails({
  client,
  user,
  self,
  changed,
  onDeleted,
}: {
  client: ParleyClient;
  user: AdminAccount;
  self: boolean;
  changed: () => Promise<void>;
  onDeleted: () => void;
}) {
  const action = useAction();
  const [question, setQuestion] = useState<Question['kind'] | null>(null);
  const [password, setPassword] = useState<string | null>(null);
  const [typed, setTyped] = useState('');
  const sessions = useResource(() => client.listAccountSessions({ userId: user.id }).then((r) => r.sessions), [user.id, user.sessions]);
  const userId = user.id;

  async function answer(kind: Question['kind']) {
    await action.run(async () => {
      if (kind === 'disable') await client.disableAccount({ userId });
      else if (kind === 'enable') await client.enableAccount({ userId });
      else if (kind === 'reset') setPassword((await client.resetAccountPassword({ userId })).password);
      else {
        const { ended } = await client.endAccountSessions({ userId });
        await changed();
        return `${ended} session${ended === 1 ? '' : 's'} ended`;
      }
      await changed();
      return kind === 'disable' ? 'Account disabled' : kind === 'enable' ? 'Account enabled' : undefined;
    });
  }

  async function exportData() {
    await action.run(async () => {
      const res = await client.exportUserData({ userId });
      saveDownload(await res.blob(), res, `parley-${user.username}.zip`);
      return 'Export downloaded';
    });
  }

  const q = question && QUESTIONS[question];
  return (
    <div class="admin-user" aria-label={`Account @${user.username}`} role="group">
      <p class="hint">
        Joined {formatFull(user.createdAt)} · {user.lastSeenAt ? `last seen ${formatFull(user.lastSeenAt)}` : 'never connected'}
        {user.disabledAt && ` · disabled ${formatFull(user.disabledAt)}`}
      </p>
      <ErrorText error={action.error} />
      {action.done && (
        <p class="info" role="status">
          {action.done}
        </p>
      )}
      {password && (
        <div class="admin-secret" role="status">
          <label>
            New password for @{user.username}
            <input readOnly value={password} onFocus={(e) => e.currentTarget.select()} />
          </label>
          <p class="hint">Shown only now: hand it over, and ask them to change it.</p>
        </div>
      )}
      {self ? (
        <p class="hint">This is your account: change it on your profile and devices pages.</p>
      ) : (
        <div class="actions-row">
          {user.disabledAt ? (
            <button type="button" disabled={action.busy} onClick={() => setQuestion('enable')}>
              Enable
            </button>
          ) : (
            <button type="button" class="danger" disabled={action.busy} onClick={() => setQuestion('disable')}>
              Disable
            </button>
          )}
          <button type="button" disabled={action.busy} onClick={() => setQuestion('reset')}>
            Reset password
          </button>
          <button type="button" disabled={action.busy} onClick={() => void exportData()}>
            Export data
          </button>
        </div>
      )}
      <h4>Devices</h4>
      <ErrorText error={sessions.error} />
      {sessions.data?.length === 0 && <p class="hint">Signed in nowhere.</p>}
      <ul class="sessions" aria-label={`Devices of @${user.username}`}>
        {sessions.data?.map((s) => (
          <li key={s.id} title={s.userAgent}>
            <span>
              <strong>{s.deviceName}</strong>
              <span class="hint">
                {' '}
                · signed in {formatFull(s.createdAt)} · last active {formatFull(s.lastActiveAt)} · {s.ip}
              </span>
            </span>
          </li>
        ))}
      </ul>
      {!self && (sessions.data?.length ?? 0) > 0 && (
        <button type="button" class="danger" disabled={action.busy} onClick={() => setQuestion('end')}>
          End all sessions
        </button>
      )}
      {!self && (
        <form
          class="admin-delete"
          aria-label={`Delete @${user.username}`}
          onSubmit={(e) => {
            e.preventDefault();
            void action.run(async () => {
              await client.deleteUserData({ userId });
              onDeleted();
            });
          }}
        >
          <label>
            To delete this account, type its username
            <input value={typed} autocomplete="off" onInput={(e) => setTyped(e.currentTarget.value)} />
          </label>
          <button type="submit" class="danger" disabled={action.busy || typed !== user.username}>
            Delete account
          </button>
          <p class="hint">Its sessions end, it leaves its chats and its profile is emptied; messages it sent to others stay.</p>
        </form>
      )}
      {q && question && (
        <ChoiceDialog
          title={q.title(user)}
          choices={[{ value: question, label: q.label, danger: q.danger }]}
          onChoose={(v) => {
            setQuestion(null);
            if (v) void answer(v);
          }}
        >
          {q.body}
        </ChoiceDialog>
      )}
    </div>
  );
}
