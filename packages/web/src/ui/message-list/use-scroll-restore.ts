import { useLayoutEffect, useRef } from 'preact/hooks';
import type { RefObject } from 'preact';
import { storage } from '../../state/storage.ts';
import type { TimelineState } from '../../state/timeline-window.ts';
import type { Row } from './build-rows.ts';
import { END_THRESHOLD, type RowVirtualizer } from './use-virtual-rows.ts';

/**
 * Scrolls to the newest message, and again over the next frames while rows measured taller than
 * their estimate leave the list short of the end: a list opened at the end stays there, so the
 * reader is not left just above the newest message with the chat never marked read.
 */
function settleAtEnd(v: RowVirtualizer, frames = 6): void {
  v.scrollToEnd();
  if (frames > 0) requestAnimationFrame(() => (v.isAtEnd(END_THRESHOLD) ? undefined : settleAtEnd(v, frames - 1)));
}

/**
 * Puts the "Unread messages" line at the top, and again over the next frames while rows above it
 * are measured (their estimated heights move it).
 */
function settleAtRow(v: RowVirtualizer, index: number, frames = 6): void {
  const start = v.getOffsetForIndex(index, 'start')?.[0];
  if (start !== undefined) v.scrollToOffset(start);
  if (frames > 0) requestAnimationFrame(() => settleAtRow(v, index, frames - 1));
}

/**
 * Puts the list at the first unread message, or where this tab last left the chat, or at the
 * newest message, once the first messages are there, and remembers the place while the reader
 * scrolls. `positioned` stays false until then, so nothing loads or marks read from a list that
 * has not settled.
 */
export function useScrollRestore(
  chatId: string,
  {
    v,
    rows,
    rowsRef,
    scrollRef,
    t,
  }: { v: RowVirtualizer; rows: Row[]; rowsRef: RefObject<Row[]>; scrollRef: RefObject<HTMLDivElement | null>; t: TimelineState },
): { positioned: RefObject<boolean>; onScroll(): void; leaveEnd(): void } {
  const positioned = useRef(false);
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // Whether the list keeps to the newest message: from being put at the end until the reader
  // scrolls up. Rows that arrive meanwhile (live, or applied on top of the first page) keep it there.
  const stick = useRef(false);
  const lastTop = useRef(0);
  const lastHeight = useRef(0);

  useLayoutEffect(() => {
    if (positioned.current || !t.loaded || rows.length === 0) return;
    positioned.current = true;
    const unread = rows.findIndex((r) => r.kind === 'unread');
    const saved = storage.scroll(chatId);
    const i = saved && !saved.bottom ? rows.findIndex((r) => r.kind === 'msg' && r.m.seq >= saved.seq) : -1;
    if (unread >= 0) settleAtRow(v, unread);
    else if (saved && !saved.bottom && i >= 0) {
      const start = v.getOffsetForIndex(i, 'start')?.[0] ?? 0;
      v.scrollToOffset(start + saved.offset);
    } else {
      stick.current = true;
      settleAtEnd(v);
    }
  }, [t.loaded, rows.length]);

  useLayoutEffect(() => {
    if (positioned.current && stick.current && !t.hasNewer && !v.isAtEnd(END_THRESHOLD)) settleAtEnd(v);
  }, [rows.length]);

  function onScroll() {
    const el = scrollRef.current;
    if (el && positioned.current) {
      // Only the reader scrolls up with the content's height unchanged: a move that comes with a
      // change of height is rows being measured or added, and a list keeping to the end stays there.
      const resized = el.scrollHeight !== lastHeight.current;
      if (v.isAtEnd(END_THRESHOLD)) stick.current = true;
      else if (resized && stick.current && !t.hasNewer) settleAtEnd(v);
      else if (!resized && el.scrollTop < lastTop.current - 4) stick.current = false;
      lastTop.current = el.scrollTop;
      lastHeight.current = el.scrollHeight;
    }
    if (saveTimer.current || !positioned.current) return;
    saveTimer.current = setTimeout(() => {
      saveTimer.current = null;
      const el = scrollRef.current;
      if (!el) return;
      const top = el.scrollTop;
      // A list that keeps to the newest message is saved as at the end, and so is one with the
      // newest row in view: the save may run between a row's arrival and the scroll that follows it.
      const items = v.getVirtualItems();
      const lastInView = items.at(-1);
      const newestInView = lastInView !== undefined && lastInView.index === rowsRef.current.length - 1 && lastInView.start < top + el.clientHeight;
      if ((stick.current || v.isAtEnd(END_THRESHOLD) || newestInView) && !t.hasNewer) return storage.setScroll(chatId, { bottom: true });
      const item = items.find((it) => it.end > top && rowsRef.current[it.index]?.kind === 'msg');
      const row = item && rowsRef.current[item.index];
      if (item && row?.kind === 'msg') storage.setScroll(chatId, { bottom: false, seq: row.m.seq, offset: Math.round(top - item.start) });
    }, 200);
  }

  return {
    positioned,
    onScroll,
    /** A jump to a message further up: the list no longer keeps to the end (the rows measured on the way would pull it back). */
    leaveEnd() {
      stick.current = false;
    },
  };
}
