import { useEffect, useLayoutEffect, useReducer, useRef } from 'preact/hooks';
import { Virtualizer, elementScroll, measureElement, observeElementOffset, observeElementRect, type VirtualizerOptions } from '@tanstack/virtual-core';
import type { Chat, Message, PendingMessage } from '@parley/sdk';
import { markRead, me, readMarks, retrySend, userName } from '../../state/app-state.ts';
import { loadLatest, loadNewer, loadOlder } from '../../state/timeline.ts';
import type { TimelineState } from '../../state/timeline-window.ts';
import type { Row } from './build-rows.ts';
import { storage } from '../../state/storage.ts';
import { formatFull, formatTime } from '../shared/format.ts';
import { Linkified } from '../shared/linkify.tsx';

export interface MessageActions {
  reply(m: Message): void;
  edit(m: Message): void;
  remove(m: Message): void;
}

interface Props {
  chat: Chat;
  t: TimelineState;
  rows: Row[];
  actions: MessageActions;
  /** Bumped to scroll to the newest message (after sending) */
  jump: number;
}

export function MessageList({ chat, t, rows, actions, jump }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const [, rerender] = useReducer((x: number) => x + 1, 0);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const positioned = useRef(false);
  const vRef = useRef<Virtualizer<HTMLDivElement, HTMLElement> | null>(null);

  const options = (): VirtualizerOptions<HTMLDivElement, HTMLElement> => ({
    count: rowsRef.current.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (rowsRef.current[i]?.kind === 'day' ? 40 : 64),
    getItemKey: (i) => rowsRef.current[i]?.key ?? i,
    overscan: 8,
    scrollToFn: elementScroll,
    observeElementRect,
    observeElementOffset,
    measureElement,
    // Keep the reader's place when older messages are added above, and follow new ones at the bottom.
    anchorTo: 'end',
    followOnAppend: true,
    scrollEndThreshold: 48,
    onChange: () => rerender(0),
  });
  if (!vRef.current) vRef.current = new Virtualizer(options());
  else vRef.current.setOptions(options());
  const v = vRef.current;

  useLayoutEffect(() => v._didMount(), []);
  useLayoutEffect(() => {
    v._willUpdate();
  });

  // The first time messages are there: go back to where this tab was, or to the newest message.
  useLayoutEffect(() => {
    if (positioned.current || !t.loaded || rows.length === 0) return;
    positioned.current = true;
    const saved = storage.scroll(chat.id);
    const i = saved && !saved.bottom ? rows.findIndex((r) => r.kind === 'msg' && r.m.seq >= saved.seq) : -1;
    if (saved && !saved.bottom && i >= 0) {
      const start = v.getOffsetForIndex(i, 'start')?.[0] ?? 0;
      v.scrollToOffset(start + saved.offset);
    } else v.scrollToEnd();
  }, [t.loaded, rows.length]);

  useEffect(() => {
    if (jump === 0) return;
    if (t.hasNewer) void loadLatest(chat.id).then(() => requestAnimationFrame(() => v.scrollToEnd()));
    else v.scrollToEnd();
  }, [jump]);

  const items = v.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  const atEnd = rows.length > 0 && last >= rows.length - 1 && v.isAtEnd(48);

  // Infinite scroll both ways, once the list has been positioned.
  useEffect(() => {
    if (!positioned.current || t.loading !== 'idle') return;
    if (first <= 3 && t.hasOlder) void loadOlder(chat.id);
    else if (last >= rows.length - 4 && t.hasNewer) void loadNewer(chat.id);
  }, [first, last, t.loading, t.hasOlder, t.hasNewer, rows.length]);

  // Read what is on screen: at the bottom of a fully loaded chat while the page is visible. The
  // position is the newest message's, not the chat's: a read mark is itself a change in the chat.
  const newest = t.messages[t.messages.length - 1]?.seq ?? 0;
  useEffect(() => {
    const check = () => {
      if (positioned.current && atEnd && !t.hasNewer && newest > chat.readSeq && document.visibilityState === 'visible') markRead(chat.id, newest);
    };
    check();
    addEventListener('focus', check);
    document.addEventListener('visibilitychange', check);
    return () => {
      removeEventListener('focus', check);
      document.removeEventListener('visibilitychange', check);
    };
  }, [atEnd, t.hasNewer, newest, chat.readSeq]);

  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  function onScroll() {
    if (saveTimer.current || !positioned.current) return;
    saveTimer.current = setTimeout(() => {
      saveTimer.current = null;
      const el = scrollRef.current;
      if (!el) return;
      if (v.isAtEnd(48) && !t.hasNewer) return storage.setScroll(chat.id, { bottom: true });
      const top = el.scrollTop;
      const item = v.getVirtualItems().find((it) => it.end > top && rowsRef.current[it.index]?.kind === 'msg');
      const row = item && rowsRef.current[item.index];
      if (item && row?.kind === 'msg') storage.setScroll(chat.id, { bottom: false, seq: row.m.seq, offset: Math.round(top - item.start) });
    }, 200);
  }

  const marks = readMarks.value[chat.id] ?? {};
  const myId = me.value?.id;
  const readByOthers = Math.max(0, ...Object.entries(marks).filter(([u]) => u !== myId).map(([, s]) => s));
  const canModerate = (chat.kind === 'group' || chat.kind === 'channel') && (chat.role === 'owner' || chat.role === 'admin');

  return (
    <div class="messages-wrap">
      <div class="messages" ref={scrollRef} onScroll={onScroll} role="log" aria-label={`Messages in ${chat.title}`} tabIndex={0}>
        <div class="messages-inner" style={{ height: `${v.getTotalSize()}px` }}>
          {t.loading === 'older' && <div class="loading-more">Loading…</div>}
          {items.map((it) => {
            const row = rows[it.index];
            if (!row) return null;
            return (
              <div key={row.key} data-index={it.index} ref={v.measureElement} class="row" style={{ transform: `translateY(${it.start}px)` }}>
                {row.kind === 'day' ? (
                  <div class="day" role="separator">
                    <span>{row.label}</span>
                  </div>
                ) : row.kind === 'msg' ? (
                  <MessageBubble m={row.m} chat={chat} mine={row.m.senderId === myId} read={readByOthers >= row.m.seq} canModerate={canModerate} actions={actions} replyTo={row.m.replyToId ? t.messages.find((x) => x.id === row.m.replyToId) : undefined} />
                ) : (
                  <PendingBubble p={row.p} />
                )}
              </div>
            );
          })}
        </div>
        {t.loaded && rows.length === 0 && <p class="empty">No messages here yet.</p>}
      </div>
      {!atEnd && rows.length > 0 && positioned.current && (
        <button type="button" class="jump" aria-label="Jump to the newest message" onClick={() => (t.hasNewer ? void loadLatest(chat.id).then(() => v.scrollToEnd()) : v.scrollToEnd())}>
          ↓
        </button>
      )}
    </div>
  );
}

function MessageBubble({ m, chat, mine, read, canModerate, actions, replyTo }: { m: Message; chat: Chat; mine: boolean; read: boolean; canModerate: boolean; actions: MessageActions; replyTo?: Message }) {
  const deleted = m.deletedAt !== null;
  const showSender = !mine && chat.kind === 'group';
  const canPost = !(chat.kind === 'channel' && chat.role === 'subscriber');
  const status = mine && chat.kind !== 'self' && chat.kind !== 'channel' ? (read ? 'Read' : 'Sent') : null;
  return (
    <article class={`msg${mine ? ' mine' : ''}${deleted ? ' deleted' : ''}`} tabIndex={0} data-seq={m.seq} aria-label={`${mine ? 'You' : userName(m.senderId)} at ${formatTime(m.createdAt)}`}>
      {showSender && <div class="sender">{userName(m.senderId)}</div>}
      {m.replyToId && !deleted && (
        <div class="quote">
          {replyTo ? (
            <>
              <strong>{replyTo.senderId === me.value?.id ? 'You' : userName(replyTo.senderId)}</strong> {replyTo.text ?? 'Message deleted'}
            </>
          ) : (
            'Reply to an earlier message'
          )}
        </div>
      )}
      <div class="text">{deleted ? <em>Message deleted</em> : <Linkified text={m.text ?? ''} />}</div>
      <div class="meta">
        {m.editedAt && !deleted && <span class="edited">edited</span>}
        <time dateTime={m.createdAt} title={formatFull(m.createdAt)}>
          {formatTime(m.createdAt)}
        </time>
        {status && (
          <span class={`status ${status.toLowerCase()}`} aria-label={status} title={status} data-status={status.toLowerCase()}>
            {read ? '✓✓' : '✓'}
          </span>
        )}
      </div>
      {!deleted && (
        <div class="actions">
          {canPost && (
            <button type="button" onClick={() => actions.reply(m)} aria-label="Reply">
              Reply
            </button>
          )}
          {mine && (
            <button type="button" onClick={() => actions.edit(m)} aria-label="Edit">
              Edit
            </button>
          )}
          {(mine || canModerate) && (
            <button type="button" onClick={() => actions.remove(m)} aria-label="Delete for everyone">
              Delete
            </button>
          )}
        </div>
      )}
    </article>
  );
}

function PendingBubble({ p }: { p: PendingMessage }) {
  return (
    <article class={`msg mine ${p.state}`} data-pending={p.state}>
      <div class="text">
        <Linkified text={p.text} />
      </div>
      <div class="meta">
        {p.state === 'failed' ? (
          <>
            <span class="error" role="alert">
              Not sent{p.error ? `: ${p.error.message}` : ''}
            </span>
            <button type="button" class="link" onClick={() => retrySend(p.clientMessageId)}>
              Retry
            </button>
          </>
        ) : (
          <span class="status pending" aria-label="Sending" title="Sending" data-status="pending">
            sending…
          </span>
        )}
      </div>
    </article>
  );
}
