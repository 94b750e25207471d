import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { RefObject } from 'preact';
import type { Row } from './build-rows.ts';
import type { RowVirtualizer } from './use-virtual-rows.ts';

const FOCUSABLE = 'a[href], button, input, select, textarea, audio[controls], video[controls], [tabindex]';

/** Keys that move between messages, to the row index they lead to. */
function target(key: string, msgRows: number[], at: number): number | undefined {
  const pos = msgRows.indexOf(at);
  switch (key) {
    case 'ArrowUp':
      return msgRows[Math.max(0, pos - 1)];
    case 'ArrowDown':
      return msgRows[pos < 0 ? msgRows.length - 1 : Math.min(msgRows.length - 1, pos + 1)];
    case 'Home':
      return msgRows[0];
    case 'End':
      return msgRows[msgRows.length - 1];
  }
  return undefined;
}

/**
 * The timeline as one tab stop (a roving tabindex): one message is reachable with Tab, and with its
 * buttons and links; the arrow keys, Home and End move between messages. The others' controls are
 * out of the tab order, so Tab leaves the timeline after the message in focus.
 */
export function useRovingFocus({
  v,
  rows,
  scrollRef,
  rendered,
  onType,
}: {
  v: RowVirtualizer;
  rows: Row[];
  scrollRef: RefObject<HTMLDivElement | null>;
  /** Indexes of the rows in the DOM now */
  rendered: number[];
  /** A printable key pressed on a message (to start writing) */
  onType?: () => void;
}) {
  const [chosen, setChosen] = useState<string | null>(null);
  const wanted = useRef<string | null>(null);
  const msgRows = rows.flatMap((r, i) => (r.kind === 'msg' ? [i] : []));
  const lastKey = msgRows.length ? rows[msgRows[msgRows.length - 1]!]!.key : null;
  const activeKey = chosen && rows.some((r) => r.key === chosen) ? chosen : lastKey;
  const activeIndex = activeKey ? rows.findIndex((r) => r.key === activeKey) : -1;
  const activeRendered = rendered.includes(activeIndex);

  // Controls inside the other messages leave the tab order; the active message's come back.
  useLayoutEffect(() => {
    const root = scrollRef.current;
    if (!root) return;
    for (const msg of Array.from(root.querySelectorAll<HTMLElement>('article.msg'))) {
      const active = msg.dataset.key === activeKey;
      for (const el of Array.from(msg.querySelectorAll<HTMLElement>(FOCUSABLE))) {
        if (active && el.dataset.roving) {
          el.removeAttribute('tabindex');
          delete el.dataset.roving;
        } else if (!active && !el.dataset.roving && el.getAttribute('tabindex') !== '-1') {
          el.tabIndex = -1;
          el.dataset.roving = '1';
        }
      }
    }
    const key = wanted.current;
    if (!key) return;
    const el = root.querySelector<HTMLElement>(`article.msg[data-key="${CSS.escape(key)}"]`);
    if (el) {
      wanted.current = null;
      // The virtualiser scrolled it into view already.
      el.focus({ preventScroll: true });
    }
  });

  function moveTo(index: number, align: 'auto' | 'center' = 'auto'): void {
    const row = rows[index];
    if (!row) return;
    setChosen(row.key);
    wanted.current = row.key;
    v.scrollToIndex(index, { align });
  }

  return {
    activeKey,
    moveTo,
    /** The list itself is the tab stop while the active message is scrolled out of the DOM. */
    listTabIndex: activeRendered ? -1 : 0,
    onFocusIn(e: FocusEvent) {
      const el = e.target as HTMLElement;
      if (el === scrollRef.current) {
        // Tabbed onto the list: hand the focus to the active message, or the last one in view.
        const inView = rendered.filter((i) => rows[i]?.kind === 'msg');
        const to = activeRendered ? activeIndex : inView[inView.length - 1];
        if (to !== undefined) moveTo(to);
        return;
      }
      const key = el.closest<HTMLElement>('article.msg')?.dataset.key;
      if (key && key !== activeKey) setChosen(key);
    },
    onKeyDown(e: KeyboardEvent) {
      const el = e.target as HTMLElement;
      if (!el.matches('article.msg') || e.altKey || e.ctrlKey || e.metaKey) return;
      const to = target(e.key, msgRows, activeIndex);
      if (to !== undefined) {
        e.preventDefault();
        moveTo(to);
      } else if (onType && e.key.length === 1 && e.key !== ' ') {
        // Typing on a message starts a message: the key goes to the composer.
        onType();
      }
    },
  };
}
