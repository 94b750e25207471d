import { useLayoutEffect, useReducer, useRef } from 'preact/hooks';
import type { RefObject } from 'preact';
import { Virtualizer, elementScroll, measureElement, observeElementOffset, observeElementRect, type VirtualizerOptions } from '@tanstack/virtual-core';
import type { Row } from './build-rows.ts';

export type RowVirtualizer = Virtualizer<HTMLDivElement, HTMLElement>;

/** How near the bottom (px) still counts as at the newest message. */
export const END_THRESHOLD = 48;

/**
 * A virtualiser over the rows, re-rendering the component when what is in view changes. The
 * returned ref always holds the current rows, for callbacks that outlive a render.
 */
export function useVirtualRows(scrollRef: RefObject<HTMLDivElement | null>, rows: Row[]): { v: RowVirtualizer; rowsRef: RefObject<Row[]> } {
  const [, rerender] = useReducer((x: number) => x + 1, 0);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const vRef = useRef<RowVirtualizer | null>(null);

  const options = (): VirtualizerOptions<HTMLDivElement, HTMLElement> => ({
    count: rowsRef.current.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => (rowsRef.current[i]?.kind === 'msg' || rowsRef.current[i]?.kind === 'pending' ? 64 : 40),
    getItemKey: (i) => rowsRef.current[i]?.key ?? i,
    overscan: 8,
    scrollToFn: elementScroll,
    observeElementRect,
    observeElementOffset,
    measureElement,
    // Keep the reader's place when older messages are added above, and follow new ones at the bottom.
    anchorTo: 'end',
    followOnAppend: true,
    scrollEndThreshold: END_THRESHOLD,
    onChange: () => rerender(0),
  });
  if (!vRef.current) vRef.current = new Virtualizer(options());
  else vRef.current.setOptions(options());
  const v = vRef.current;

  useLayoutEffect(() => v._didMount(), []);
  useLayoutEffect(() => {
    v._willUpdate();
  });
  return { v, rowsRef };
}
