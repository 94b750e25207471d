import { useEffect } from 'preact/hooks';
import type { TimelineState } from '../../state/timeline-window.ts';

/** Loads the next page when the rows in view come within a few rows of either end of the window. */
export function useLoadAtEdges(opts: {
  ready(): boolean;
  first: number;
  last: number;
  count: number;
  t: TimelineState;
  load(side: 'older' | 'newer'): void;
}): void {
  const { first, last, count, t } = opts;
  useEffect(() => {
    if (!opts.ready() || t.loading !== 'idle') return;
    if (first <= 3 && t.hasOlder) opts.load('older');
    else if (last >= count - 4 && t.hasNewer) opts.load('newer');
  }, [first, last, t.loading, t.hasOlder, t.hasNewer, count]);
}
