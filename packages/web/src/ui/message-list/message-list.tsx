import { useEffect, useRef, useState } from 'preact/hooks';
import type { Chat, Message } from '@parley/sdk';
import type { TimelineState } from '../../state/timeline-window.ts';
import { useApp } from '../app-context.ts';
import type { Row } from './build-rows.ts';
import { MessageBubble, PendingBubble, QUICK_REACTIONS, type MessageActions } from './message-bubble.tsx';
import { MessageMenu, type MenuItem } from './message-menu.tsx';
import { useLoadAtEdges } from './use-load-at-edges.ts';
import { useMarkReadSeen } from './use-mark-read-seen.ts';
import { noticeText } from './notice-text.ts';
import { userName } from '../../state/people-model.ts';
import { useRovingFocus } from './use-roving-focus.ts';
import { useScrollRestore } from './use-scroll-restore.ts';
import { END_THRESHOLD, useVirtualRows } from './use-virtual-rows.ts';

export type { MessageActions };

/** Who may pin: either member of a self or private chat; the owner and admins of a group or channel. */
export function canPinIn(chat: Chat): boolean {
  return chat.kind === 'self' || chat.kind === 'private' || chat.role === 'owner' || chat.role === 'admin';
}

interface Props {
  chat: Chat;
  t: TimelineState;
  rows: Row[];
  actions: MessageActions;
  /** Bumped to scroll to the newest message (after sending) */
  jump: number;
  /** Moves the focus to the composer (a printable key pressed on a message) */
  focusComposer?: () => void;
  /** A loaded message to scroll to, focus and highlight; `n` tells one jump from the next to the same message */
  goTo?: { id: string; n: number } | null;
}

/** How long a message jumped to stays highlighted. */
const HIGHLIGHT_MS = 2000;

/** How long the list rests after scrolling before what is on screen counts as read. */
const SEEN_DELAY_MS = 300;

export function MessageList({ chat, t, rows, actions, jump, focusComposer, goTo }: Props) {
  const app = useApp();
  const scrollRef = useRef<HTMLDivElement>(null);
  const { v, rowsRef } = useVirtualRows(scrollRef, rows);
  const { positioned, onScroll, leaveEnd } = useScrollRestore(chat.id, { v, rows, rowsRef, scrollRef, t });
  const ready = () => positioned.current;

  const toNewest = () => (t.hasNewer ? void app.timelines.loadLatest(chat.id).then(() => v.scrollToEnd()) : v.scrollToEnd());
  useEffect(() => {
    if (jump === 0) return;
    if (t.hasNewer) void app.timelines.loadLatest(chat.id).then(() => requestAnimationFrame(() => v.scrollToEnd()));
    else v.scrollToEnd();
  }, [jump]);

  const items = v.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? 0;
  const atEnd = rows.length > 0 && last >= rows.length - 1 && v.isAtEnd(END_THRESHOLD);
  const roving = useRovingFocus({ v, rows, scrollRef, rendered: items.map((it) => it.index), onType: focusComposer });
  const [highlight, setHighlight] = useState<string | null>(null);
  useEffect(() => {
    if (!goTo) return;
    const i = rows.findIndex((r) => r.key === goTo.id);
    if (i < 0) return;
    leaveEnd();
    roving.moveTo(i, 'center');
    setHighlight(goTo.id);
    const timer = setTimeout(() => setHighlight(null), HIGHLIGHT_MS);
    return () => clearTimeout(timer);
  }, [goTo]);

  useLoadAtEdges({ ready, first, last, count: rows.length, t, load: (side) => void app.timelines.loadMore(chat.id, side) });
  // The newest message whose bottom edge is on screen.
  function seen(): number {
    const el = scrollRef.current;
    if (!el) return 0;
    const bottom = el.scrollTop + el.clientHeight + 1;
    let seq = 0;
    for (const it of v.getVirtualItems()) {
      const row = rowsRef.current[it.index];
      if (row?.kind === 'msg' && it.end <= bottom && it.end > el.scrollTop) seq = Math.max(seq, row.m.seq);
    }
    return seq;
  }
  const markSeen = useMarkReadSeen({
    ready,
    seen,
    atEnd,
    hasNewer: t.hasNewer,
    newest: t.messages[t.messages.length - 1]?.seq ?? 0,
    readSeq: chat.readSeq,
    unread: chat.unreadCount,
    markRead: (seq) => app.markRead(chat.id, seq),
  });

  // Reading by scrolling marks read once the list rests for a moment, not at every pixel.
  const seenTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  function scheduleSeen(): void {
    if (seenTimer.current) clearTimeout(seenTimer.current);
    seenTimer.current = setTimeout(() => {
      seenTimer.current = null;
      markSeen();
    }, SEEN_DELAY_MS);
  }
  useEffect(() => () => void (seenTimer.current && clearTimeout(seenTimer.current)), []);

  const marks = app.chats.readMarks.value[chat.id] ?? {};
  const myId = app.session.me.value?.id;
  // How far each of the others has read: a message is read when all of them have read it.
  const othersRead = Object.entries(marks)
    .filter(([u]) => u !== myId)
    .map(([, s]) => s);
  const canModerate = (chat.kind === 'group' || chat.kind === 'channel') && (chat.role === 'owner' || chat.role === 'admin');
  const canPost = !(chat.kind === 'channel' && chat.role === 'subscriber');
  const canPin = canPinIn(chat);

  const [menu, setMenu] = useState<{ key: string; x: number; y: number } | null>(null);
  function openMenu(el: HTMLElement, x?: number, y?: number): void {
    const key = el.dataset.key;
    if (!key) return;
    const r = el.getBoundingClientRect();
    setMenu({ key, x: x || r.left + 16, y: y || r.top + 16 });
  }
  function menuItems(m: Message): MenuItem[] {
    if (m.deletedAt) return [];
    const mine = m.senderId === myId;
    const items: MenuItem[] = [];
    if (canPost) items.push({ label: 'Reply', run: () => actions.reply(m) });
    if (m.text) items.push({ label: 'Copy text', run: () => void navigator.clipboard?.writeText(m.text ?? '').catch(() => app.showNotice('Could not copy')) });
    if (mine && m.text !== null && !m.forwarded) items.push({ label: 'Edit', run: () => actions.edit(m) });
    if (actions.forward) items.push({ label: 'Forward', run: () => actions.forward?.(m) });
    if (canPin && actions.pin) items.push({ label: m.pinnedAt ? 'Unpin' : 'Pin', run: () => actions.pin?.(m, !m.pinnedAt) });
    const myReactions = new Set((m.reactions ?? []).filter((r) => r.userIds.includes(myId ?? '')).map((r) => r.emoji));
    for (const emoji of QUICK_REACTIONS)
      items.push({ label: myReactions.has(emoji) ? `Take back ${emoji}` : `React ${emoji}`, run: () => actions.react?.(m, emoji, !myReactions.has(emoji)) });
    if (mine || canModerate) items.push({ label: 'Delete for everyone', run: () => actions.remove(m), danger: true });
    return items;
  }
  const menuRow = menu ? rows.find((r) => r.key === menu.key) : undefined;
  const menuMessage = menuRow?.kind === 'msg' ? menuRow.m : undefined;

  return (
    <div class="messages-wrap">
      <div
        class="messages"
        ref={scrollRef}
        onScroll={() => {
          onScroll();
          scheduleSeen();
        }}
        role="log"
        aria-label={`Messages in ${chat.title}`}
        tabIndex={roving.listTabIndex}
        onFocusIn={roving.onFocusIn}
        onKeyDown={(e) => {
          const el = e.target as HTMLElement;
          if (el.matches('article.msg') && (e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10'))) {
            e.preventDefault();
            return openMenu(el);
          }
          roving.onKeyDown(e);
        }}
        onContextMenu={(e) => {
          const el = (e.target as HTMLElement).closest<HTMLElement>('article.msg[data-key]');
          // A link keeps the browser's own menu (open in a new tab, copy the address).
          if (!el || (e.target as HTMLElement).closest('a[href]')) return;
          e.preventDefault();
          openMenu(el, e.clientX, e.clientY);
        }}
      >
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
                ) : row.kind === 'notice' ? (
                  <div class="notice-line" role="note">
                    <span>{noticeText(row.n, (id) => userName(app.people, id), myId)}</span>
                  </div>
                ) : row.kind === 'unread' ? (
                  <div class="unread-line" role="separator">
                    <span>Unread messages</span>
                  </div>
                ) : row.kind === 'msg' ? (
                  <MessageBubble
                    m={row.m}
                    active={row.key === roving.activeKey}
                    highlighted={row.key === highlight}
                    chat={chat}
                    mine={row.m.senderId === myId}
                    readBy={othersRead.filter((s) => s >= row.m.seq).length}
                    others={othersRead.length}
                    canModerate={canModerate}
                    actions={actions}
                    replyTo={row.m.replyToId ? t.messages.find((x) => x.id === row.m.replyToId) : undefined}
                  />
                ) : (
                  <PendingBubble p={row.p} />
                )}
              </div>
            );
          })}
        </div>
        {t.loaded && rows.length === 0 && <p class="empty">No messages here yet.</p>}
      </div>
      {menu && menuMessage && menuItems(menuMessage).length > 0 && (
        <MessageMenu
          x={menu.x}
          y={menu.y}
          items={menuItems(menuMessage)}
          onClose={() => {
            setMenu(null);
            const i = rows.findIndex((r) => r.key === menu.key);
            if (i >= 0 && !document.querySelector('.composer textarea:focus')) roving.moveTo(i);
          }}
        />
      )}
      {!atEnd && rows.length > 0 && positioned.current && (
        <button
          type="button"
          class="jump"
          aria-label={chat.unreadCount > 0 ? `Jump to the newest message, ${chat.unreadCount} unread` : 'Jump to the newest message'}
          onClick={toNewest}
        >
          ↓{chat.unreadCount > 0 && <span class="badge">{chat.unreadCount > 99 ? '99+' : chat.unreadCount}</span>}
        </button>
      )}
    </div>
  );
}
