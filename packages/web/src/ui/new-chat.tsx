import { useServices } from './app-context.ts';
import { ErrorText } from './shared/error-text.tsx';
import { PaneHeader } from './shared/pane-header.tsx';
import { PeopleInput } from './shared/people-input.tsx';
import { resolveUsernames } from './shared/resolve-usernames.ts';
import { useAction, type Action } from './shared/use-action.ts';

type MultiKind = 'group' | 'channel';

/** The group and channel forms differ only in their words. */
const MULTI: Record<MultiKind, { form: string; heading: string; hint?: string; name: string; members: string; submit: string }> = {
  group: { form: 'Create a group', heading: 'Group', name: 'Group name', members: 'Members (usernames, separated by commas)', submit: 'Create group' },
  channel: {
    form: 'Create a channel',
    heading: 'Channel',
    hint: 'Admins post, subscribers read.',
    name: 'Channel name',
    members: 'Subscribers (usernames, separated by commas)',
    submit: 'Create channel',
  },
};

export function NewChatScreen() {
  const { app, client } = useServices();
  const action = useAction();

  /** Creates the chat with what `create` returns, then opens it. */
  const submit = (create: (v: Record<string, string>) => Promise<{ id: string }>) =>
    action.form(async (v) => {
      const chat = await create(v);
      await app.chats.refresh(chat.id);
      location.hash = `#/chat/${encodeURIComponent(chat.id)}`;
    });

  async function createMulti(kind: MultiKind, v: Record<string, string>) {
    const input = { title: v.title!.trim(), memberIds: await resolveUsernames(client, v.members ?? '') };
    return kind === 'group' ? client.createGroup(input) : client.createChannel(input);
  }

  return (
    <section class="pane page" aria-labelledby="new-chat-title">
      <PaneHeader title="New chat" id="new-chat-title" />
      <div class="page-body">
        <ErrorText error={action.error} />
        <form
          class="card"
          aria-label="Start a private chat"
          onSubmit={submit(async (v) => {
            const [userId] = await resolveUsernames(client, v.username!);
            if (!userId) throw new Error('Enter a username');
            return client.createPrivateChat({ userId });
          })}
        >
          <h3>Private chat</h3>
          <PeopleInput name="username" label="Username" placeholder="A name or username, e.g. bob" required />
          <button type="submit" class="primary" disabled={action.busy}>
            Start chat
          </button>
        </form>
        <MultiChatForm kind="group" action={action} onSubmit={submit((v) => createMulti('group', v))} />
        <MultiChatForm kind="channel" action={action} onSubmit={submit((v) => createMulti('channel', v))} />
      </div>
    </section>
  );
}

function MultiChatForm({ kind, action, onSubmit }: { kind: MultiKind; action: Action; onSubmit: (e: Event) => void }) {
  const t = MULTI[kind];
  return (
    <form class="card" aria-label={t.form} onSubmit={onSubmit}>
      <h3>{t.heading}</h3>
      {t.hint && <p class="hint">{t.hint}</p>}
      <label>
        {t.name}
        <input name="title" required maxLength={128} />
      </label>
      <PeopleInput name="members" label={t.members} placeholder="bob, carol" multiple />
      <button type="submit" class="primary" disabled={action.busy}>
        {t.submit}
      </button>
    </form>
  );
}
