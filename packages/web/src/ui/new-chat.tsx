import { useState } from 'preact/hooks';
import { client, refreshChat } from '../state/app-state.ts';
import { errorText, formValues } from './shared/form-helpers.ts';
import { PaneHeader } from './shared/pane-header.tsx';

/** Finds users by username; all of them must exist. */
export async function resolveUsernames(text: string): Promise<string[]> {
  const names = [...new Set(text.split(/[\s,]+/).map((n) => n.replace(/^@/, '').trim()).filter(Boolean))];
  const found = await Promise.all(
    names.map((username) =>
      client.getUserByUsername({ username }).catch(() => {
        throw new Error(`No user named "${username}"`);
      }),
    ),
  );
  return found.map((u) => u.id);
}

export function NewChatScreen() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(e: Event, action: (v: Record<string, string>) => Promise<{ id: string }>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const chat = await action(formValues(e.currentTarget as HTMLFormElement));
      await refreshChat(chat.id);
      location.hash = `#/chat/${encodeURIComponent(chat.id)}`;
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="pane page" aria-labelledby="new-chat-title">
      <PaneHeader title="New chat" id="new-chat-title" />
      <div class="page-body">
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <form
          class="card"
          aria-label="Start a private chat"
          onSubmit={(e) =>
            run(e, async (v) => {
              const [userId] = await resolveUsernames(v.username!);
              if (!userId) throw new Error('Enter a username');
              return client.createPrivateChat({ userId });
            })
          }
        >
          <h3>Private chat</h3>
          <label>
            Username
            <input name="username" required placeholder="e.g. bob" autocomplete="off" />
          </label>
          <button type="submit" class="primary" disabled={busy}>
            Start chat
          </button>
        </form>
        <form
          class="card"
          aria-label="Create a group"
          onSubmit={(e) => run(e, async (v) => client.createGroup({ title: v.title!.trim(), memberIds: await resolveUsernames(v.members ?? '') }))}
        >
          <h3>Group</h3>
          <label>
            Group name
            <input name="title" required maxLength={128} />
          </label>
          <label>
            Members (usernames, separated by commas)
            <input name="members" placeholder="bob, carol" autocomplete="off" />
          </label>
          <button type="submit" class="primary" disabled={busy}>
            Create group
          </button>
        </form>
        <form
          class="card"
          aria-label="Create a channel"
          onSubmit={(e) => run(e, async (v) => client.createChannel({ title: v.title!.trim(), memberIds: await resolveUsernames(v.members ?? '') }))}
        >
          <h3>Channel</h3>
          <p class="hint">Admins post, subscribers read.</p>
          <label>
            Channel name
            <input name="title" required maxLength={128} />
          </label>
          <label>
            Subscribers (usernames, separated by commas)
            <input name="members" placeholder="bob, carol" autocomplete="off" />
          </label>
          <button type="submit" class="primary" disabled={busy}>
            Create channel
          </button>
        </form>
      </div>
    </section>
  );
}
