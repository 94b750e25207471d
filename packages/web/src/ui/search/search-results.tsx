import { useEffect, useRef, useState } from 'preact/hooks';
import type { Chat, Message, User } from '@parley/sdk';
import { userName } from '../../state/people-model.ts';
import { useServices } from '../app-context.ts';
import { Avatar } from '../shared/avatar.tsx';
import { formatWhen } from '../shared/format.ts';
import { errorText } from '../shared/form-helpers.ts';
import { highlight, queryTerms, startsWords } from './highlight.ts';
import { activeOption, searchOptions, searchQuery, type SearchOption } from './search-state.ts';

/** How long typing rests before the server is asked. */
const DEBOUNCE_MS = 200;
const PEOPLE = 5;
const CHATS = 5;
const PAGE = 20;

/** The address that opens a chat at one of its messages, highlighted (the chat view honours at and msg). */
export function messageHref(m: Message): string {
  return `#/chat/${encodeURIComponent(m.chatId)}?at=${m.seq}&msg=${encodeURIComponent(m.id)}`;
}

interface Found {
  q: string;
  chatId: string | undefined;
  people: User[];
  messages: Message[];
  nextCursor: string | null;
}

/** Chats, people and messages matching the search field, with the arrow keys' options for the field. */
export function SearchResults() {
  const { app, client } = useServices();
  const q = searchQuery.value.trim();
  const openChat = app.chats.openChatId.value ? app.chats.chatMap.value[app.chats.openChatId.value] : undefined;
  const [inChat, setInChat] = useState(false);
  const chatId = inChat && openChat ? openChat.id : undefined;
  const [found, setFound] = useState<Found | null>(null);
  const [busy, setBusy] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const asked = useRef(0);
  const terms = queryTerms(q);

  useEffect(() => {
    const mine = ++asked.current;
    setBusy(true);
    const timer = setTimeout(() => {
      void Promise.allSettled([
        chatId || terms.length === 0 ? Promise.resolve({ users: [] }) : client.searchUsers({ q: q.slice(0, 64), limit: PEOPLE }),
        terms.length === 0 ? Promise.resolve({ messages: [], nextCursor: null }) : client.searchMessages({ q, chatId, limit: PAGE }),
      ]).then(([users, messages]) => {
        if (asked.current !== mine) return;
        setBusy(false);
        const failed = [users, messages].find((r) => r.status === 'rejected');
        setError(failed ? errorText(failed.reason) : null);
        setFound({
          q,
          chatId,
          people: users.status === 'fulfilled' ? users.value.users : [],
          messages: messages.status === 'fulfilled' ? messages.value.messages : [],
          nextCursor: messages.status === 'fulfilled' ? messages.value.nextCursor : null,
        });
      });
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [q, chatId]);

  async function more() {
    if (!found?.nextCursor) return;
    const mine = asked.current;
    setBusy(true);
    try {
      const page = await client.searchMessages({ q: found.q, chatId: found.chatId, before: found.nextCursor, limit: PAGE });
      if (asked.current !== mine) return;
      setFound({ ...found, messages: [...found.messages, ...page.messages], nextCursor: page.nextCursor });
      setError(null);
    } catch (err) {
      if (asked.current === mine) setError(errorText(err));
    } finally {
      if (asked.current === mine) setBusy(false);
    }
  }

  function openMessage(m: Message) {
    const href = messageHref(m);
    // The same result again: step off its address first, so the chat sees a new one and jumps again.
    if (location.hash === href) history.replaceState(history.state, '', `#/chat/${encodeURIComponent(m.chatId)}`);
    app.router.go(href);
  }

  async function startChat(u: User) {
    try {
      const chat = await client.createPrivateChat({ userId: u.id });
      await app.chats.refresh(chat.id);
      app.router.go(`#/chat/${encodeURIComponent(chat.id)}`);
    } catch (err) {
      setError(errorText(err));
    }
  }

  const chats = chatId ? [] : app.chats.chatList.value.filter((c) => startsWords(c.title, terms)).slice(0, CHATS);
  const people = found?.people ?? [];
  const messages = found?.messages ?? [];
  const options: (SearchOption & { key: string })[] = [
    ...chats.map((c) => ({ key: `c-${c.id}`, id: `search-chat-${c.id}`, open: () => app.router.go(`#/chat/${encodeURIComponent(c.id)}`) })),
    ...people.map((u) => ({ key: `u-${u.id}`, id: `search-user-${u.id}`, open: () => void startChat(u) })),
    ...messages.map((m) => ({ key: `m-${m.id}`, id: `search-msg-${m.id}`, open: () => openMessage(m) })),
  ];
  const optionKeys = options.map((o) => o.key).join(' ');
  useEffect(() => {
    searchOptions.value = options;
    if (activeOption.value >= options.length) activeOption.value = -1;
  }, [optionKeys]);
  useEffect(() => () => void ((searchOptions.value = []), (activeOption.value = -1)), []);
  const active = searchOptions.value[activeOption.value]?.id;
  useEffect(() => {
    if (active) document.getElementById(active)?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const option = (id: string, open: () => void, label: string) => ({
    id,
    role: 'option' as const,
    'aria-selected': id === active,
    'aria-label': label,
    class: `search-hit${id === active ? ' active' : ''}`,
    onClick: open,
  });
  const byId = Object.fromEntries(options.map((o) => [o.id, o.open]));

  return (
    <div class="search-results" aria-busy={busy}>
      {openChat && (
        <div class="search-scope" role="group" aria-label="Where to search">
          <button type="button" class="chip" aria-pressed={!inChat} onClick={() => setInChat(false)}>
            All chats
          </button>
          <button type="button" class="chip" aria-pressed={inChat} onClick={() => setInChat(true)} title={`Search in ${openChat.title}`}>
            In this chat
          </button>
        </div>
      )}
      {error && (
        <p class="error search-error" role="alert">
          {error}
        </p>
      )}
      <ul id="search-results" role="listbox" aria-label="Search results">
        {chats.length > 0 && (
          <li role="group" aria-labelledby="search-chats">
            <h3 id="search-chats" class="search-heading" role="presentation">
              Chats
            </h3>
            <ul role="presentation">
              {chats.map((c) => (
                <li key={c.id} {...option(`search-chat-${c.id}`, byId[`search-chat-${c.id}`]!, `Chat ${c.title}`)}>
                  <ChatAvatar chat={c} />
                  <span class="search-hit-body">
                    <span class="search-hit-title">
                      <Marked text={c.title} terms={terms} />
                    </span>
                  </span>
                </li>
              ))}
            </ul>
          </li>
        )}
        {people.length > 0 && (
          <li role="group" aria-labelledby="search-people">
            <h3 id="search-people" class="search-heading" role="presentation">
              People
            </h3>
            <ul role="presentation">
              {people.map((u) => (
                <li key={u.id} {...option(`search-user-${u.id}`, byId[`search-user-${u.id}`]!, `${u.displayName}, @${u.username}: write a message`)}>
                  <Avatar name={u.displayName} fileId={u.avatarFileId} />
                  <span class="search-hit-body">
                    <span class="search-hit-title">{u.displayName}</span>
                    <span class="search-hit-text">@{u.username}</span>
                  </span>
                </li>
              ))}
            </ul>
          </li>
        )}
        {messages.length > 0 && (
          <li role="group" aria-labelledby="search-messages">
            <h3 id="search-messages" class="search-heading" role="presentation">
              Messages
            </h3>
            <ul role="presentation">
              {messages.map((m) => {
                const chat = app.chats.chatMap.value[m.chatId];
                const title = chat?.title ?? 'A chat';
                const sender = m.senderId === app.session.me.value?.id ? 'You' : userName(app.people, m.senderId);
                const text = m.text ?? '';
                return (
                  <li key={m.id} {...option(`search-msg-${m.id}`, byId[`search-msg-${m.id}`]!, `${sender} in ${title}, ${formatWhen(m.createdAt)}: ${text}`)}>
                    {chat ? <ChatAvatar chat={chat} /> : <Avatar name={title} />}
                    <span class="search-hit-body">
                      <span class="search-hit-top">
                        <span class="search-hit-title">{title}</span>
                        <time class="when" dateTime={m.createdAt}>
                          {formatWhen(m.createdAt)}
                        </time>
                      </span>
                      <span class="search-hit-text">
                        <span class="search-hit-sender">{sender}: </span>
                        <Marked text={text} terms={terms} />
                      </span>
                    </span>
                  </li>
                );
              })}
            </ul>
          </li>
        )}
      </ul>
      {found && !busy && !error && messages.length === 0 && (
        <p class="empty" role="status">
          No messages found
        </p>
      )}
      {found && !busy && messages.length > 0 && (
        <p class="visually-hidden" role="status">
          {found.nextCursor ? `More than ${messages.length}` : messages.length} message{messages.length === 1 ? '' : 's'} found
        </p>
      )}
      {found?.nextCursor && (
        <button type="button" class="search-more" disabled={busy} onClick={() => void more()}>
          More results
        </button>
      )}
    </div>
  );
}

function ChatAvatar({ chat }: { chat: Chat }) {
  return <Avatar name={chat.title} self={chat.kind === 'self'} fileId={chat.avatarFileId ?? chat.peer?.avatarFileId} />;
}

/** The text with the words searched for in <mark>: pieces of text, never markup. */
function Marked({ text, terms }: { text: string; terms: string[] }) {
  return <>{highlight(text, terms).map((p, i) => (p.hit ? <mark key={i}>{p.text}</mark> : p.text))}</>;
}
