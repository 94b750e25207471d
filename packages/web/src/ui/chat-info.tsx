import { useRef, useState } from 'preact/hooks';
import type { Member } from '@parley/sdk';
import { useServices } from './app-context.ts';
import { ChoiceDialog } from './shared/choice-dialog.tsx';
import { ErrorText } from './shared/error-text.tsx';
import { formValues } from './shared/form-helpers.ts';
import { PaneHeader } from './shared/pane-header.tsx';
import { PicturePicker } from './shared/picture-picker.tsx';
import { resolveUsernames } from './shared/resolve-usernames.ts';
import { useResource } from './shared/use-resource.ts';

const ROLE_LABEL: Record<string, string> = { owner: 'Owner', admin: 'Admin', member: 'Member', subscriber: 'Subscriber' };

export function ChatInfoScreen({ chatId }: { chatId: string }) {
  const { app, client } = useServices();
  const chat = app.chats.chatMap.value[chatId];
  const list = useResource(() => client.listMembers({ chatId }).then((r) => r.members), [chatId, app.chats.membersChanged.value]);
  const members = list.data ?? [];
  const back = `#/chat/${encodeURIComponent(chatId)}`;
  const [asking, setAsking] = useState<'delete' | 'leave' | { owner: Member } | null>(null);
  const heir = useRef<HTMLSelectElement>(null);

  if (!chat) return <PaneHeader title="Chat not available" />;
  const isOwner = chat.role === 'owner';
  const canManage = chat.kind !== 'private' && (isOwner || chat.role === 'admin');
  const myId = app.session.me.value?.id;
  // A channel's subscribers do not see each other (the server lists them only who runs it, and themselves):
  // the list shows who runs it, and the count how many follow it.
  const subscriberView = chat.kind === 'channel' && chat.role === 'subscriber';
  const shown = subscriberView ? members.filter((m) => m.role === 'owner' || m.role === 'admin') : members;
  const presence = app.people.presence.value;
  const act = (change: () => Promise<unknown>) =>
    list.act(async () => {
      await change();
      await app.chats.refresh(chatId);
    });

  return (
    <section class="pane page" aria-labelledby="info-title">
      <PaneHeader title={chat.title} id="info-title" back={back} />
      <div class="page-body">
        <ErrorText error={list.error} />
        {canManage && (
          <PicturePicker
            label="Chat picture"
            name={chat.title}
            fileId={chat.avatarFileId}
            save={async (avatarFileId) => {
              await client.updateChat({ chatId, avatarFileId });
              await app.chats.refresh(chatId);
            }}
          />
        )}
        {canManage && (
          <form
            class="card"
            aria-label="Rename"
            onSubmit={(e) => (
              e.preventDefault(),
              act(() => client.updateChat({ chatId, title: formValues(e.currentTarget as HTMLFormElement).title!.trim() }))
            )}
          >
            <label>
              Name
              <input name="title" required maxLength={128} defaultValue={chat.title} />
            </label>
            <button type="submit">Rename</button>
          </form>
        )}
        <div class="card">
          {subscriberView && <p class="hint">{chat.memberCount} subscribers</p>}
          <h3>{subscriberView ? 'Admins' : `${members.length} ${chat.kind === 'channel' ? 'members and subscribers' : 'members'}`}</h3>
          <ul class="members" aria-label="Members">
            {shown.map((m) => {
              const self = m.user.id === myId;
              const online = presence[m.user.id]?.online;
              return (
                <li key={m.user.id} data-username={m.user.username ?? ''}>
                  <span class="member-name">
                    {m.user.displayName} {self && '(you)'}
                    <span class="hint"> @{m.user.username ?? 'deleted'}</span>
                    {online && !self && <span class="hint"> · online</span>}
                  </span>
                  <span class="role">{ROLE_LABEL[m.role]}</span>
                  {isOwner && !self && m.role !== 'owner' && (
                    <button
                      type="button"
                      onClick={() => act(() => client.setMemberRole({ chatId, userId: m.user.id, role: m.role === 'admin' ? 'member' : 'admin' }))}
                    >
                      {m.role === 'admin' ? 'Remove admin' : 'Make admin'}
                    </button>
                  )}
                  {isOwner && !self && chat.kind !== 'private' && (
                    <button type="button" onClick={() => setAsking({ owner: m })}>
                      Make owner
                    </button>
                  )}
                  {canManage && !self && m.role !== 'owner' && (isOwner || m.role !== 'admin') && (
                    <button
                      type="button"
                      aria-label={`Remove ${m.user.displayName}`}
                      onClick={() => confirm(`Remove ${m.user.displayName}?`) && act(() => client.removeMember({ chatId, userId: m.user.id }))}
                    >
                      Remove
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        </div>
        {canManage && (
          <form
            class="card"
            aria-label="Add members"
            onSubmit={(e) => (
              e.preventDefault(),
              act(async () =>
                client.addMembers({ chatId, userIds: await resolveUsernames(client, formValues(e.currentTarget as HTMLFormElement).usernames ?? '') }),
              )
            )}
          >
            <label>
              Add by username (separated by commas)
              <input name="usernames" required autocomplete="off" />
            </label>
            <button type="submit">Add</button>
          </form>
        )}
        <div class="card actions-row">
          <button type="button" aria-pressed={chat.muted} onClick={() => act(() => client.updateChat({ chatId, muted: !chat.muted }))}>
            {chat.muted ? 'Unmute' : 'Mute'}
          </button>
          {chat.kind !== 'private' && isOwner && members.length > 1 && (
            <button type="button" class="danger" onClick={() => setAsking('leave')}>
              Leave
            </button>
          )}
          {chat.kind !== 'private' && !isOwner && (
            <button
              type="button"
              class="danger"
              onClick={() => confirm(`Leave ${chat.title}?`) && client.leaveChat({ chatId }).then(() => (location.hash = '#/'), list.fail)}
            >
              Leave
            </button>
          )}
          {(chat.kind === 'private' || isOwner) && (
            <button type="button" class="danger" onClick={() => setAsking('delete')}>
              Delete chat
            </button>
          )}
        </div>
      </div>
      {asking && typeof asking === 'object' && (
        <ChoiceDialog
          title={`Make ${asking.owner.user.displayName} the owner?`}
          choices={[{ value: 'owner', label: 'Make owner', danger: true }]}
          onChoose={(choice) => {
            setAsking(null);
            if (choice) void act(() => client.transferOwnership({ chatId, userId: asking.owner.user.id }));
          }}
        >
          You become an admin of {chat.title}.
        </ChoiceDialog>
      )}
      {asking === 'leave' && (
        <ChoiceDialog
          title={`Leave ${chat.title}?`}
          choices={[{ value: 'leave', label: 'Hand over and leave', danger: true }]}
          onChoose={(choice) => {
            setAsking(null);
            const userId = heir.current?.value;
            if (!choice || !userId) return;
            client
              .transferOwnership({ chatId, userId })
              .then(() => client.leaveChat({ chatId }))
              .then(() => (location.hash = '#/'), list.fail);
          }}
        >
          <label>
            The new owner
            <select ref={heir}>
              {members
                .filter((m) => m.user.id !== myId)
                .sort((a, b) => (a.role === 'admin' ? 0 : 1) - (b.role === 'admin' ? 0 : 1))
                .map((m) => (
                  <option key={m.user.id} value={m.user.id}>
                    {m.user.displayName} (@{m.user.username ?? 'deleted'})
                  </option>
                ))}
            </select>
          </label>
        </ChoiceDialog>
      )}
      {asking === 'delete' && (
        <ChoiceDialog
          title={`Delete ${chat.title}?`}
          choices={
            chat.kind === 'private'
              ? [
                  { value: 'me', label: 'Delete for me', danger: true },
                  { value: 'both', label: 'Delete for both', danger: true },
                ]
              : [{ value: 'both', label: 'Delete for everyone', danger: true }]
          }
          onChoose={(choice) => {
            setAsking(null);
            if (!choice) return;
            client
              .deleteChat({ chatId, forEveryone: chat.kind === 'private' ? choice === 'both' : undefined })
              .then(() => (location.hash = '#/'))
              .catch(app.showNotice);
          }}
        >
          {chat.kind === 'private'
            ? `"Delete for both" also removes it for ${chat.peer?.displayName ?? 'the other person'}.`
            : 'The chat and its messages are deleted for every member.'}
        </ChoiceDialog>
      )}
    </section>
  );
}
