import { useEffect, useRef, useState } from 'preact/hooks';
import type { Chat, Message } from '@parley/sdk';
import { useServices } from '../app-context.ts';
import { Avatar } from '../shared/avatar.tsx';
import { queryTerms, startsWords } from '../search/highlight.ts';
import './message-extras.css';

/** A client id for a forward: it is sent once, over HTTP, not through the outbox. */
function forwardId(): string {
  return `fw${globalThis.crypto?.randomUUID?.().replace(/-/g, '') ?? `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`}`;
}

/**
 * The chat picker for forwarding a message: my chats I can post in, filtered by the words of their
 * title (as search finds chats), arrow keys and Enter to pick, Escape to cancel. Forwarding opens the
 * chat it went to.
 */
export function ForwardDialog({ message, onClose }: { message: Message; onClose(): void }) {
  const { app, client } = useServices();
  const ref = useRef<HTMLDialogElement>(null);
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const [busy, setBusy] = useState(false);
  const terms = queryTerms(query);
  const chats = app.chats.chatList.value.filter(
    (c) => !(c.kind === 'channel' && c.role === 'subscriber') && (terms.length === 0 || startsWords(c.title, terms)),
  );

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  useEffect(() => setActive(0), [query]);

  async function forwardTo(chat: Chat | undefined): Promise<void> {
    if (!chat || busy) return;
    setBusy(true);
    try {
      const sent = await client.sendMessage({ chatId: chat.id, clientMessageId: forwardId(), forwardFrom: { chatId: message.chatId, messageId: message.id } });
      app.timelines.addSent(sent);
      onClose();
      app.router.go(`#/chat/${encodeURIComponent(chat.id)}`);
    } catch (err) {
      setBusy(false);
      app.showNotice(err);
    }
  }

  function onKeyDown(e: KeyboardEvent) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = chats.length;
      if (n > 0) setActive((i) => (i + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      void forwardTo(chats[active]);
    }
  }

  return (
    <dialog ref={ref} class="dialog forward-dialog" aria-label="Forward to" onCancel={onClose} onClose={onClose}>
      <h2>Forward to…</h2>
      <input
        type="search"
        aria-label="Find a chat"
        placeholder="Find a chat"
        value={query}
        autoFocus
        onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)}
        onKeyDown={onKeyDown}
        aria-controls="forward-chats"
        aria-activedescendant={chats[active] ? `forward-${chats[active].id}` : undefined}
      />
      <ul id="forward-chats" class="forward-chats" role="listbox" aria-label="Chats">
        {chats.map((c, i) => (
          <li
            key={c.id}
            id={`forward-${c.id}`}
            role="option"
            aria-selected={i === active}
            class={i === active ? 'active' : undefined}
            onMouseEnter={() => setActive(i)}
            onClick={() => void forwardTo(c)}
          >
            <Avatar name={c.title} self={c.kind === 'self'} fileId={c.avatarFileId ?? c.peer?.avatarFileId} />
            <span>{c.title}</span>
          </li>
        ))}
        {chats.length === 0 && <li class="empty">No chat found</li>}
      </ul>
      <div class="dialog-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
