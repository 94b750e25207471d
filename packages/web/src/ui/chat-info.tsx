import { useEffect, useState } from 'preact/hooks';
import type { Member } from '@parley/sdk';
import { chatMap, client, me, membersChanged, presence, refreshChat, showNotice } from '../state/app-state.ts';
import { errorText, formValues } from './shared/form-helpers.ts';
import { PaneHeader } from './shared/pane-header.tsx';
import { resolveUsernames } from './new-chat.tsx';

const ROLE_LABEL: Record<string, string> = { owner: 'Owner', admin: 'Admin', member: 'Member', subscriber: 'Subscriber' };

export function ChatInfoScreen({ chatId }: { chatId: string }) {
  const chat = chatMap.value[chatId];
  const [members, setMembers] = useState<Member[]>([]);
  const [error, setError] = useState<string | null>(null);
  const back = `#/chat/${encodeURIComponent(chatId)}`;

  const reload = () =>
    client
      .listMembers({ chatId })
      .then((r) => setMembers(r.members))
      .catch((err) => setError(errorText(err)));
  useEffect(() => {
    void reload();
  }, [chatId, membersChanged.value]);

  if (!chat) return <PaneHeader title="Chat not available" />;
  const isOwner = chat.role === 'owner';
  const canManage = chat.kind !== 'private' && (isOwner || chat.role === 'admin');

  async function act(fn: () => Promise<unknown>) {
    setError(null);
    try {
      await fn();
      await reload();
      await refreshChat(chatId);
    } catch (err) {
      setError(errorText(err));
    }
  }

  return (
    <section class="pane page" aria-labelledby="info-title">
      <PaneHeader title={chat.title} id="info-title" back={back} />
      <div class="page-body">
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {canManage && (
          <form class="card" aria-label="Rename" onSubmit={(e) => (e.preventDefault(), act(() => client.updateChat({ chatId, title: formValues(e.currentTarget as HTMLFormElement).title!.trim() })))}>
            <label>
              Name
              <input name="title" required maxLength={128} defaultValue={chat.title} />
            </label>
            <button type="submit">Rename</button>
          </form>
        )}
        <div class="card">
          <h3>
            {members.length} {chat.kind === 'channel' ? 'members and subscribers' : 'members'}
          </h3>
          <ul class="members" aria-label="Members">
            {members.map((m) => {
              const self = m.user.id === me.value?.id;
              const online = presence.value[m.user.id]?.online;
              return (
                <li key={m.user.id} data-username={m.user.username ?? ''}>
                  <span class="member-name">
                    {m.user.displayName} {self && '(you)'}
                    <span class="hint"> @{m.user.username ?? 'deleted'}</span>
                    {online && !self && <span class="hint"> · online</span>}
                  </span>
                  <span class="role">{ROLE_LABEL[m.role]}</span>
                  {isOwner && !self && m.role !== 'owner' && (
                    <button type="button" onClick={() => act(() => client.setMemberRole({ chatId, userId: m.user.id, role: m.role === 'admin' ? 'member' : 'admin' }))}>
                      {m.role === 'admin' ? 'Remove admin' : 'Make admin'}
                    </button>
                  )}
                  {canManage && !self && m.role !== 'owner' && (isOwner || m.role !== 'admin') && (
                    <button type="button" aria-label={`Remove ${m.user.displayName}`} onClick={() => confirm(`Remove ${m.user.displayName}?`) && act(() => client.removeMember({ chatId, userId: m.user.id }))}>
                      Remove
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        </div>
        {canManage && (
          <form class="card" aria-label="Add members" onSubmit={(e) => (e.preventDefault(), act(async () => client.addMembers({ chatId, userIds: await resolveUsernames(formValues(e.currentTarget as HTMLFormElement).usernames ?? '') })))}>
            <label>
              Add by username (separated by commas)
              <input name="usernames" required autocomplete="off" />
            </label>
            <button type="submit">Add</button>
          </form>
        )}
        <div class="card actions-row">
          {chat.kind !== 'private' && !isOwner && (
            <button type="button" class="danger" onClick={() => confirm(`Leave ${chat.title}?`) && client.leaveChat({ chatId }).then(() => (location.hash = '#/'), (err) => setError(errorText(err)))}>
              Leave
            </button>
          )}
          {(chat.kind === 'private' || isOwner) && (
            <button
              type="button"
              class="danger"
              onClick={() => {
                const everyone = chat.kind !== 'private' || confirm('Also delete it for the other person? (Cancel deletes it only for you)');
                if (chat.kind !== 'private' && !confirm(`Delete ${chat.title} for everyone?`)) return;
                client
                  .deleteChat({ chatId, forEveryone: chat.kind === 'private' ? everyone : undefined })
                  .then(() => (location.hash = '#/'))
                  .catch(showNotice);
              }}
            >
              Delete chat
            </button>
          )}
        </div>
      </div>
    </section>
  );
}
