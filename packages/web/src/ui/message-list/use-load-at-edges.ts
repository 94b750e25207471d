import { useEffect } from 'preact/hooks';
import type { TimelineState } from '../../state/timeline-window.ts';

/** Loads the next page when the rows in view come within a few rows of either end of the window. */
export function useLoadAtEdges(opts: { ready(): boolean; first: number; last: number; count: number; t: TimelineState; loadOlder(): void; loadNewer(): void }): void {
  const { first, last, count, t } = opts;
  useEffect(() => {
    if (!opts.ready() || t.loading !== 'idle') return;
    if (first <= 3 && t.hasOlder) opts.loadOlder();
    else if (last >= count - 4 && t.hasNewer) opts.loadNewer();
  }, [first, last, t.loading, t.hasOlder, t.hasNewer, count]);
}
