import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { RefObject } from 'preact';
import type { Chat, Message } from '@parley/sdk';
import { chatMap, client, me, membersChanged, openChatId, outbox, presence, readMarks, realtime, rememberUsers, sendMessage, showNotice, typing, userName } from '../state/app-state.ts';
import { loadAround, loadLatest, replaceMessage, timeline } from '../state/timeline.ts';
import { storage } from '../state/storage.ts';
import { formatWhen } from './shared/format.ts';
import { Avatar } from './chat-list.tsx';
import { MessageList, type MessageActions } from './message-list/message-list.tsx';
import { buildRows } from './message-list/build-rows.ts';

const MAX_CODE_POINTS = 4096;

export function ChatView({ chatId }: { chatId: string }) {
  const chat = chatMap.value[chatId];
  const t = timeline(chatId).value;
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [jump, setJump] = useState(0);
  const composer = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    openChatId.value = chatId;
    return () => {
      if (openChatId.value === chatId) openChatId.value = null;
    };
  }, [chatId]);

  // History: around where this tab last was, or the newest page.
  useEffect(() => {
    if (!chat || t.loaded || t.loading !== 'idle') return;
    const saved = storage.scroll(chatId);
    void (saved && !saved.bottom ? loadAround(chatId, saved.seq) : loadLatest(chatId));
  }, [chatId, !!chat]);

  // Members: names for group messages, and how far each has read (the read marks).
  useEffect(() => {
    if (!chat) return;
    client
      .listMembers({ chatId })
      .then(({ members }) => {
        rememberUsers(members.map((m) => m.user));
        readMarks.value = { ...readMarks.value, [chatId]: Object.fromEntries(members.map((m) => [m.user.id, m.readSeq])) };
      })
      .catch(() => {});
  }, [chatId, !!chat, membersChanged.value]);

  const pending = outbox.value.filter((p) => p.chatId === chatId);
  const rows = useMemo(() => buildRows(t, pending, me.value?.id), [t, outbox.value]);

  if (!chat) {
    return (
      <section class="pane placeholder">
        <p>This chat is not available.</p>
        <a href="#/">Back to chats</a>
      </section>
    );
  }

  const actions: MessageActions = {
    reply(m) {
      setEditing(null);
      setReplyTo(m);
      composer.current?.focus();
    },
    edit(m) {
      setReplyTo(null);
      setEditing(m);
      if (composer.current) composer.current.value = m.text ?? '';
      composer.current?.focus();
    },
    async remove(m) {
      if (!confirm('Delete this message for everyone?')) return;
      try {
        await client.deleteMessage({ chatId, messageId: m.id });
        replaceMessage({ ...m, text: null, deletedAt: new Date().toISOString() });
      } catch (err) {
        showNotice(err);
      }
    },
  };

  const canPost = !(chat.kind === 'channel' && chat.role === 'subscriber');
  return (
    <section class="pane chat" aria-label={chat.title}>
      <ChatHeader chat={chat} />
      <MessageList chat={chat} t={t} rows={rows} actions={actions} jump={jump} />
      {canPost ? (
        <Composer
          chat={chat}
          inputRef={composer}
          replyTo={replyTo}
          editing={editing}
          onCancel={() => {
            if (editing && composer.current) composer.current.value = '';
            setReplyTo(null);
            setEditing(null);
          }}
          onSent={() => {
            setReplyTo(null);
            setEditing(null);
            setJump((j) => j + 1);
          }}
        />
      ) : (
        <p class="read-only" role="note">
          Only the channel's admins can post here.
        </p>
      )}
    </section>
  );
}

function ChatHeader({ chat }: { chat: Chat }) {
  const typers = Object.keys(typing.value[chat.id] ?? {}).filter((u) => u !== me.value?.id);
  const peer = chat.kind === 'private' ? chat.peer : undefined;
  const p = peer ? presence.value[peer.id] : undefined;
  let subtitle: string;
  if (typers.length > 0) subtitle = chat.kind === 'private' ? 'typing…' : `${typers.map(userName).join(', ')} ${typers.length > 1 ? 'are' : 'is'} typing…`;
  else if (chat.kind === 'self') subtitle = 'Notes and links for yourself';
  else if (peer) subtitle = peer.deleted ? 'Deleted account' : p?.online ? 'online' : p?.lastSeenAt ? `last seen ${formatWhen(p.lastSeenAt)}` : `@${peer.username}`;
  else subtitle = `${chat.memberCount} ${chat.kind === 'channel' ? 'subscribers' : 'members'}`;
  return (
    <header class="pane-header">
      <a class="back" href="#/" aria-label="Back to chats">
        ←
      </a>
      <Avatar name={chat.title} self={chat.kind === 'self'} online={peer ? (p?.online ?? false) : undefined} />
      <div class="pane-title">
        <h2>{chat.title}</h2>
        <p class={`subtitle${typers.length ? ' typing' : ''}`} aria-live="polite">
          {subtitle}
        </p>
      </div>
      {chat.kind !== 'self' && (
        <a class="icon-button" href={`#/chat/${encodeURIComponent(chat.id)}/info`} aria-label="Chat info and members" title="Chat info">
          ℹ
        </a>
      )}
    </header>
  );
}

interface ComposerProps {
  chat: Chat;
  inputRef: RefObject<HTMLTextAreaElement | null>;
  replyTo: Message | null;
  editing: Message | null;
  onCancel(): void;
  onSent(): void;
}

function Composer({ chat, inputRef, replyTo, editing, onCancel, onSent }: ComposerProps) {
  const [length, setLength] = useState(0);
  const lastTyping = useRef(0);

  function resize() {
    const el = inputRef.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
    setLength([...el.value].length);
  }

  async function submit(e?: Event) {
    e?.preventDefault();
    const el = inputRef.current;
    if (!el) return;
    const text = el.value.trim();
    if (!text || [...text].length > MAX_CODE_POINTS) return;
    if (editing) {
      if (text === editing.text) return onCancel();
      try {
        const updated = await client.editMessage({ chatId: chat.id, messageId: editing.id, text });
        replaceMessage(updated);
      } catch (err) {
        return showNotice(err);
      }
    } else {
      sendMessage(chat.id, text, replyTo?.id);
    }
    el.value = '';
    // The others stopped showing "typing" when the message arrived: tell them again on the next keystroke.
    lastTyping.current = 0;
    resize();
    onSent();
  }

  function onKeyDown(e: KeyboardEvent) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === 'Escape' && (replyTo || editing)) {
      e.preventDefault();
      onCancel();
    }
  }

  function onInput() {
    resize();
    const now = Date.now();
    if (now - lastTyping.current > 1500 && inputRef.current?.value) {
      lastTyping.current = now;
      realtime()?.typing(chat.id);
    }
  }

  const context = editing ? { label: 'Editing', text: editing.text ?? '' } : replyTo ? { label: `Replying to ${replyTo.senderId === me.value?.id ? 'yourself' : userName(replyTo.senderId)}`, text: replyTo.text ?? '' } : null;
  const over = length > MAX_CODE_POINTS;
  return (
    <form class="composer" onSubmit={submit} aria-label="Send a message">
      {context && (
        <div class="composer-context">
          <div>
            <strong>{context.label}</strong>
            <span class="snippet">{context.text}</span>
          </div>
          <button type="button" class="icon-button" onClick={onCancel} aria-label={editing ? 'Cancel editing' : 'Cancel reply'}>
            ✕
          </button>
        </div>
      )}
      <div class="composer-row">
        <textarea ref={inputRef} rows={1} aria-label="Message" placeholder={chat.kind === 'channel' ? 'Broadcast a message' : 'Message'} onKeyDown={onKeyDown} onInput={onInput} maxLength={65536} />
        <button type="submit" class="send" aria-label={editing ? 'Save' : 'Send'} disabled={over}>
          {editing ? '✓' : '➤'}
        </button>
      </div>
      {length > MAX_CODE_POINTS - 200 && (
        <p class={`counter${over ? ' error' : ''}`} aria-live="polite">
          {length} / {MAX_CODE_POINTS}
        </p>
      )}
    </form>
  );
}
