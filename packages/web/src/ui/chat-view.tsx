import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { RefObject } from 'preact';
import { ParleyError, type Attachment, type Chat, type Message, type User } from '@parley/sdk';
import type { DraftFile } from '../state/uploads-model.ts';
import { userName } from '../state/people-model.ts';
import { storage } from '../state/storage.ts';
import { useServices } from './app-context.ts';
import { Avatar } from './shared/avatar.tsx';
import { formatLastSeen } from './shared/format.ts';
import { errorText } from './shared/form-helpers.ts';
import { useCountdown } from './shared/use-countdown.ts';
import { MessageList, canPinIn, type MessageActions } from './message-list/message-list.tsx';
import { ForwardDialog } from './message-list/forward-dialog.tsx';
import { PinnedBar } from './message-list/pinned-bar.tsx';
import { mentionAt, mentionCandidates, withMention } from './mention-query.ts';
import { MENTION_LIST_ID, MentionSuggest } from './mention-suggest.tsx';
import { buildRows } from './message-list/build-rows.ts';
import { isVisual } from './message-list/media-size.ts';
import { MediaViewer } from './media-viewer.tsx';
import { DraftFiles, OutgoingUploads } from './composer-files.tsx';
import { PaperclipIcon } from './shared/icons.tsx';
import { VoiceRecordButton } from './voice-record-button.tsx';
import { CallButton } from './calls/call-button.tsx';

/** How many pages of history a click on a reply's quote loads, at most, to find the original. */
const MAX_PAGES_BACK = 20;

/** How close to the server's limit the composer starts counting. */
const COUNT_FROM = 200;

export function ChatView({ chatId }: { chatId: string }) {
  const { app, client } = useServices();
  const { openChatId } = app.chats;
  const chat = app.chats.chatMap.value[chatId];
  const t = app.timelines.timeline(chatId).value;
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [jump, setJump] = useState(0);
  const [goTo, setGoTo] = useState<{ id: string; n: number } | null>(null);
  const [drafts, setDrafts] = useState<DraftFile[]>([]);
  const [viewing, setViewing] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const [forwarding, setForwarding] = useState<Message | null>(null);
  const [members, setMembers] = useState<User[]>([]);
  const composer = useRef<HTMLTextAreaElement>(null);
  const maxFiles = app.session.limits.value?.attachmentsPerMessage ?? 10;

  function addFiles(files: File[]): void {
    if (files.length === 0) return;
    setDrafts((d) => {
      const room = Math.max(0, maxFiles - d.length);
      if (files.length > room) app.showNotice(`A message can carry at most ${maxFiles} files`);
      return [...d, ...files.slice(0, room).map((f) => app.uploads.draft(f))];
    });
    composer.current?.focus();
  }

  useEffect(() => {
    setDrafts([]);
    setViewing(null);
    setForwarding(null);
    setMembers([]);
  }, [chatId]);

  useEffect(() => {
    openChatId.value = chatId;
    return () => {
      if (openChatId.value === chatId) openChatId.value = null;
    };
  }, [chatId]);

  // Where unread messages began when the chat was opened: the "Unread messages" line stays there
  // while the chat is open, though reading moves the read position on.
  const unreadAfter = useMemo(() => (chat && chat.unreadCount > 0 ? chat.readSeq : null), [chatId, !!chat]);

  // A search result opens the chat at its message, highlighted: #/chat/<id>?at=<seq>&msg=<id>.
  const route = app.router.route.value;
  const at = Number(route.query.get('at'));
  const msg = at > 0 ? route.query.get('msg') : null;
  useEffect(() => {
    if (!chat || !msg) return;
    const has = () => app.timelines.timeline(chatId).value.messages.some((m) => m.id === msg);
    // The jump waits for the list to settle where it opens (at the unread line, say) over its first frames.
    const go = () => has() && setTimeout(() => setGoTo((g) => ({ id: msg, n: (g?.n ?? 0) + 1 })), 200);
    void (has() ? Promise.resolve() : app.timelines.loadAround(chatId, at)).then(go);
  }, [chatId, !!chat, route]);

  // History: at the first unread message, or around where this tab last was, or the newest page.
  useEffect(() => {
    if (!chat || t.loaded || t.loading !== 'idle' || msg) return;
    const saved = storage.scroll(chatId);
    if (unreadAfter !== null) void app.timelines.loadAround(chatId, unreadAfter);
    else void (saved && !saved.bottom ? app.timelines.loadAround(chatId, saved.seq) : app.timelines.loadLatest(chatId));
  }, [chatId, !!chat]);

  // Members: names for group messages, and how far each has read (the read marks).
  useEffect(() => {
    if (!chat) return;
    client
      .listMembers({ chatId })
      .then(({ members }) => {
        app.people.remember(members.map((m) => m.user));
        setMembers(members.map((m) => m.user));
        app.chats.setReadMarks(chatId, Object.fromEntries(members.map((m) => [m.user.id, m.readSeq])));
      })
      .catch(() => {});
  }, [chatId, !!chat, app.chats.membersChanged.value]);

  const outbox = app.connection.outbox.value;
  const myId = app.session.me.value?.id;
  const rows = useMemo(
    () =>
      buildRows(
        t,
        outbox.filter((p) => p.chatId === chatId),
        myId,
        unreadAfter,
      ),
    [t, outbox, unreadAfter],
  );

  // The chat's photos and videos in order, for the viewer's arrow keys.
  const media = useMemo(() => t.messages.flatMap((m) => (m.deletedAt ? [] : (m.attachments ?? []).filter(isVisual))), [t]);
  const viewIndex = viewing ? media.findIndex((a) => a.fileId === viewing) : -1;

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
        app.timelines.replace({ ...m, text: null, deletedAt: new Date().toISOString() });
      } catch (err) {
        app.showNotice(err);
      }
    },
    view(a: Attachment) {
      setViewing(a.fileId);
    },
    async react(m, emoji, on) {
      try {
        const input = { chatId, messageId: m.id, emoji };
        app.timelines.replace(on ? await client.addReaction(input) : await client.removeReaction(input));
      } catch (err) {
        app.showNotice(err);
      }
    },
    forward(m) {
      setForwarding(m);
    },
    async pin(m, on) {
      try {
        const input = { chatId, messageId: m.id };
        const updated = on ? await client.pinMessage(input) : await client.unpinMessage(input);
        app.timelines.replace(updated);
        app.pins.replace(updated);
      } catch (err) {
        app.showNotice(err);
      }
    },
    async jumpTo(messageId) {
      // The original is older than the loaded window: page back to it (the window stays contiguous).
      const loaded = () => app.timelines.timeline(chatId).value;
      for (let pages = 0; pages < MAX_PAGES_BACK && !loaded().messages.some((m) => m.id === messageId);) {
        if (loaded().loading !== 'idle') {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        if (!loaded().hasOlder) break;
        await app.timelines.loadMore(chatId, 'older');
        pages++;
      }
      if (loaded().messages.some((m) => m.id === messageId)) setGoTo((g) => ({ id: messageId, n: (g?.n ?? 0) + 1 }));
      else app.showNotice('The original message is not available');
    },
  };
  const canPost = !(chat.kind === 'channel' && chat.role === 'subscriber');
  const hasFiles = (e: DragEvent) => canPost && !editing && !!e.dataTransfer?.types.includes('Files');

  return (
    <section
      class={`pane chat${dragging ? ' dragging' : ''}`}
      aria-label={chat.title}
      onDragOver={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target || !(e.currentTarget as Node).contains(e.relatedTarget as Node | null)) setDragging(false);
      }}
      onDrop={(e) => {
        setDragging(false);
        if (!hasFiles(e)) return;
        e.preventDefault();
        addFiles(Array.from(e.dataTransfer?.files ?? []));
      }}
    >
      <ChatHeader chat={chat} />
      <PinnedBar
        chat={chat}
        canPin={canPinIn(chat)}
        // A loaded message is shown at once; one further back opens the chat around it, as a search result does.
        onJump={(m) =>
          t.messages.some((x) => x.id === m.id)
            ? setGoTo((g) => ({ id: m.id, n: (g?.n ?? 0) + 1 }))
            : app.router.go(`#/chat/${encodeURIComponent(chatId)}?at=${m.seq}&msg=${encodeURIComponent(m.id)}`)
        }
        onUnpin={(m) => void actions.pin?.(m, false)}
      />
      <MessageList chat={chat} t={t} rows={rows} actions={actions} jump={jump} goTo={goTo} focusComposer={() => composer.current?.focus()} />
      {canPost ? (
        <Composer
          chat={chat}
          members={chat.kind === 'group' ? members : []}
          inputRef={composer}
          replyTo={replyTo}
          editing={editing}
          drafts={drafts}
          setDrafts={setDrafts}
          addFiles={addFiles}
          onEditLast={() => {
            const last = t.messages.findLast((m) => m.senderId === myId && !m.deletedAt && m.text);
            if (!last) return false;
            actions.edit(last);
            return true;
          }}
          onCancel={() => {
            if (editing && composer.current) composer.current.value = app.drafts.get(chatId);
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
      {dragging && (
        <div class="drop-hint" aria-hidden="true">
          Drop files to send
        </div>
      )}
      {forwarding && <ForwardDialog message={forwarding} onClose={() => setForwarding(null)} />}
      {viewIndex >= 0 && <MediaViewer items={media} index={viewIndex} onMove={(i) => setViewing(media[i]?.fileId ?? null)} onClose={() => setViewing(null)} />}
    </section>
  );
}

function ChatHeader({ chat }: { chat: Chat }) {
  const { app } = useServices();
  // "last seen 5 minutes ago" moves on while the chat is open.
  const [, tick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => tick((n) => n + 1), 30_000);
    return () => clearInterval(timer);
  }, []);
  const typers = Object.keys(app.chats.typing.value[chat.id] ?? {}).filter((u) => u !== app.session.me.value?.id);
  const peer = chat.kind === 'private' ? chat.peer : undefined;
  const p = peer ? app.people.presence.value[peer.id] : undefined;
  let subtitle: string;
  if (typers.length > 0)
    subtitle = chat.kind === 'private' ? 'typing…' : `${typers.map((u) => userName(app.people, u)).join(', ')} ${typers.length > 1 ? 'are' : 'is'} typing…`;
  else if (chat.kind === 'self') subtitle = 'Notes and links for yourself';
  else if (peer)
    subtitle = peer.deleted ? 'Deleted account' : p?.online ? 'online' : p?.lastSeenAt ? `last seen ${formatLastSeen(p.lastSeenAt)}` : `@${peer.username}`;
  else subtitle = `${chat.memberCount} ${chat.kind === 'channel' ? 'subscribers' : 'members'}`;
  return (
    <header class="pane-header">
      <a class="back" href="#/" aria-label="Back to chats">
        ←
      </a>
      <Avatar name={chat.title} self={chat.kind === 'self'} online={peer ? (p?.online ?? false) : undefined} fileId={chat.avatarFileId ?? peer?.avatarFileId} />
      <div class="pane-title">
        <h2>{chat.title}</h2>
        <p class={`subtitle${typers.length ? ' typing' : ''}`} aria-live="polite">
          {subtitle}
        </p>
      </div>
      <CallButton chat={chat} />
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
  /** Who an @mention may name (a group's members; none elsewhere) */
  members: User[];
  inputRef: RefObject<HTMLTextAreaElement | null>;
  replyTo: Message | null;
  editing: Message | null;
  drafts: DraftFile[];
  setDrafts(update: (d: DraftFile[]) => DraftFile[]): void;
  addFiles(files: File[]): void;
  /** ArrowUp in an empty composer: edit my last message; false when there is none. */
  onEditLast(): boolean;
  onCancel(): void;
  onSent(): void;
}

/** How many members the @mention list offers at once. */
const MENTION_CHOICES = 6;

function Composer({ chat, members, inputRef, replyTo, editing, drafts, setDrafts, addFiles, onEditLast, onCancel, onSent }: ComposerProps) {
  const { app, client } = useServices();
  // Until the server's limits are loaded there is no count: the server refuses what is too long.
  const max = app.session.limits.value?.messageLength ?? Infinity;
  const [length, setLength] = useState(0);
  const lastTyping = useRef(0);
  const picker = useRef<HTMLInputElement>(null);
  const [editError, setEditError] = useState<string | null>(null);
  useEffect(() => setEditError(null), [editing?.id]);
  const [mention, setMention] = useState<{ start: number; caret: number; query: string } | null>(null);
  const [mentionIndex, setMentionIndex] = useState(0);
  const candidates = mention ? mentionCandidates(members, mention.query, { myId: app.session.me.value?.id, limit: MENTION_CHOICES }) : [];
  useEffect(() => setMention(null), [chat.id]);

  /** Opens, narrows or closes the @mention list from what is before the caret. */
  function findMention(): void {
    const el = inputRef.current;
    const at = el && members.length > 0 && el.selectionStart === el.selectionEnd ? mentionAt(el.value, el.selectionStart) : null;
    setMention(at && { ...at, caret: el!.selectionStart });
    if (at?.query !== mention?.query) setMentionIndex(0);
  }

  function pickMention(u: User): void {
    const el = inputRef.current;
    if (!el || !mention || !u.username) return;
    const next = withMention(el.value, mention, u.username);
    el.value = next.value;
    el.setSelectionRange(next.caret, next.caret);
    setMention(null);
    resize();
    if (!editing) app.drafts.set(chat.id, el.value);
  }

  // The chat's draft comes back when the chat opens, before the chat is painted (never an empty
  // composer first, into which a quick typist's first keys would go).
  useLayoutEffect(() => {
    const el = inputRef.current;
    if (!el) return;
    el.value = app.drafts.get(chat.id);
    resize();
    // Opening a chat is to write in it; on a touch screen that would pop up the keyboard, so only with a mouse.
    if (!matchMedia('(pointer: coarse)').matches) el.focus();
  }, [chat.id]);

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
    const files = editing ? [] : drafts;
    if ((!text && files.length === 0) || [...text].length > max) return;
    if (editing) {
      if (text === editing.text) return onCancel();
      // An edit is not queued like a send: say so plainly, and keep it in the composer to try again.
      if (!navigator.onLine) return setEditError("You're offline; the edit wasn't saved");
      try {
        const updated = await client.editMessage({ chatId: chat.id, messageId: editing.id, text });
        app.timelines.replace(updated);
      } catch (err) {
        return setEditError(
          err instanceof ParleyError && err.code === 'network_error'
            ? `${navigator.onLine ? "Can't reach the server" : "You're offline"}; the edit wasn't saved`
            : errorText(err),
        );
      }
    } else if (files.length > 0) {
      app.uploads.send(chat.id, text, replyTo?.id, files);
      setDrafts(() => []);
    } else {
      app.connection.send(chat.id, text, replyTo?.id);
    }
    // After an edit the draft that was there before comes back; after a send it is gone.
    if (!editing) app.drafts.set(chat.id, '');
    el.value = app.drafts.get(chat.id);
    // The others stopped showing "typing" when the message arrived: tell them again on the next keystroke.
    lastTyping.current = 0;
    resize();
    onSent();
  }

  function onKeyDown(e: KeyboardEvent) {
    if (mention && candidates.length > 0 && !e.isComposing) {
      const n = candidates.length;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        return setMentionIndex((i) => (i + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
      }
      if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
        e.preventDefault();
        return pickMention(candidates[Math.min(mentionIndex, n - 1)]!);
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        return setMention(null);
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === 'Escape' && (replyTo || editing)) {
      e.preventDefault();
      onCancel();
    } else if (e.key === 'ArrowUp' && !editing && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && inputRef.current?.value === '') {
      if (onEditLast()) e.preventDefault();
    }
  }

  function onPaste(e: ClipboardEvent) {
    const files = Array.from(e.clipboardData?.files ?? []);
    if (files.length === 0 || editing) return;
    e.preventDefault();
    addFiles(files);
  }

  function onInput() {
    resize();
    findMention();
    if (!editing && inputRef.current) app.drafts.set(chat.id, inputRef.current.value);
    const now = Date.now();
    if (now - lastTyping.current > 1500 && inputRef.current?.value) {
      lastTyping.current = now;
      app.connection.typing(chat.id);
    }
  }

  const context = editing
    ? { label: 'Editing', text: editing.text ?? '' }
    : replyTo
      ? {
          label: `Replying to ${replyTo.senderId === app.session.me.value?.id ? 'yourself' : userName(app.people, replyTo.senderId)}`,
          text: replyTo.text ?? '',
        }
      : null;
  const over = length > max;
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
      {editing && editError && (
        <p class="error composer-error" role="alert">
          {editError}
        </p>
      )}
      <SlowDown chatId={chat.id} />
      <OutgoingUploads chatId={chat.id} />
      {!editing && (
        <DraftFiles
          drafts={drafts}
          onMode={(id, mode) => setDrafts((d) => d.map((x) => (x.id === id ? { ...x, mode } : x)))}
          onRemove={(id) => setDrafts((d) => d.filter((x) => x.id !== id))}
        />
      )}
      {candidates.length > 0 && <MentionSuggest candidates={candidates} selected={Math.min(mentionIndex, candidates.length - 1)} onPick={pickMention} />}
      <div class="composer-row">
        {!editing && (
          <>
            <button type="button" class="icon-button attach" onClick={() => picker.current?.click()} aria-label="Attach files" title="Attach files">
              <PaperclipIcon />
            </button>
            <input
              ref={picker}
              type="file"
              multiple
              class="file-input"
              aria-label="Choose files to attach"
              tabIndex={-1}
              onChange={(e) => {
                const input = e.currentTarget as HTMLInputElement;
                addFiles(Array.from(input.files ?? []));
                input.value = '';
              }}
            />
          </>
        )}
        <textarea
          ref={inputRef}
          rows={1}
          aria-label="Message"
          aria-autocomplete={members.length > 0 ? 'list' : undefined}
          aria-controls={candidates.length > 0 ? MENTION_LIST_ID : undefined}
          aria-activedescendant={candidates.length > 0 ? `${MENTION_LIST_ID}-${candidates[Math.min(mentionIndex, candidates.length - 1)]!.id}` : undefined}
          onBlur={() => setMention(null)}
          placeholder={drafts.length > 0 && !editing ? 'Add a caption' : chat.kind === 'channel' ? 'Broadcast a message' : 'Message'}
          onKeyDown={onKeyDown}
          onInput={onInput}
          onPaste={onPaste}
          maxLength={65536}
        />
        {!editing && <VoiceRecordButton onRecorded={(media) => app.uploads.send(chat.id, '', replyTo?.id, [app.uploads.preparedDraft(media)])} />}
        <button type="submit" class="send" aria-label={editing ? 'Save' : 'Send'} disabled={over}>
          {editing ? '✓' : '➤'}
        </button>
      </div>
      {length > max - COUNT_FROM && (
        <p class={`counter${over ? ' error' : ''}`} aria-live="polite">
          {length} / {max}
        </p>
      )}
    </form>
  );
}

/** "Slow down: sending in 7 s" while my messages in this chat wait on the server's rate limit. */
function SlowDown({ chatId }: { chatId: string }) {
  const { connection, outbox, slowDownUntil } = useServices().app.connection;
  const waiting = outbox.value.some((p) => p.chatId === chatId && p.state === 'pending' && p.error?.code === 'rate_limited');
  const left = useCountdown(waiting ? slowDownUntil.value : 0);
  if (!waiting || connection.value !== 'online') return null;
  return (
    <p class="slow-down" role="status">
      {left > 0 ? `Slow down: sending in ${left} s` : 'Slow down: sending…'}
    </p>
  );
}
