import { useLayoutEffect, useRef } from 'preact/hooks';
import type { RefObject } from 'preact';
import { storage } from '../../state/storage.ts';
import type { TimelineState } from '../../state/timeline-window.ts';
import type { Row } from './build-rows.ts';
import { END_THRESHOLD, type RowVirtualizer } from './use-virtual-rows.ts';

/**
 * Puts the list where this tab last left the chat (or at the newest message) once the first
 * messages are there, and remembers the place while the reader scrolls. `positioned` stays
 * false until then, so nothing loads or marks read from a list that has not settled.
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
): { positioned: RefObject<boolean>; onScroll(): void } {
  const positioned = useRef(false);
  const saveTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useLayoutEffect(() => {
    if (positioned.current || !t.loaded || rows.length === 0) return;
    positioned.current = true;
    const saved = storage.scroll(chatId);
    const i = saved && !saved.bottom ? rows.findIndex((r) => r.kind === 'msg' && r.m.seq >= saved.seq) : -1;
    if (saved && !saved.bottom && i >= 0) {
      const start = v.getOffsetForIndex(i, 'start')?.[0] ?? 0;
      v.scrollToOffset(start + saved.offset);
    } else v.scrollToEnd();
  }, [t.loaded, rows.length]);

  function onScroll() {
    if (saveTimer.current || !positioned.current) return;
    saveTimer.current = setTimeout(() => {
      saveTimer.current = null;
      const el = scrollRef.current;
      if (!el) return;
      if (v.isAtEnd(END_THRESHOLD) && !t.hasNewer) return storage.setScroll(chatId, { bottom: true });
      const top = el.scrollTop;
      const item = v.getVirtualItems().find((it) => it.end > top && rowsRef.current[it.index]?.kind === 'msg');
      const row = item && rowsRef.current[item.index];
      if (item && row?.kind === 'msg') storage.setScroll(chatId, { bottom: false, seq: row.m.seq, offset: Math.round(top - item.start) });
    }, 200);
  }

  return { positioned, onScroll };
}
