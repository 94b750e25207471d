import { useEffect } from 'preact/hooks';

/**
 * Reads what is on screen: at the bottom of a fully loaded chat while the page is visible, and
 * again when the page comes back into view. The position is the newest message's, not the
 * chat's: a read mark is itself a change in the chat. Only a chat with unread messages is marked
 * (my own messages after my read position leave nothing to read). `ready` is asked each time (the
 * list may settle after this render).
 */
export function useMarkReadAtEnd(opts: {
  ready(): boolean;
  atEnd: boolean;
  hasNewer: boolean;
  newest: number;
  readSeq: number;
  unread: number;
  markRead(seq: number): void;
}): void {
  const { atEnd, hasNewer, newest, readSeq, unread } = opts;
  useEffect(() => {
    const check = () => {
      if (opts.ready() && atEnd && !hasNewer && newest > readSeq && unread > 0 && document.visibilityState === 'visible') opts.markRead(newest);
    };
    check();
    addEventListener('focus', check);
    document.addEventListener('visibilitychange', check);
    return () => {
      removeEventListener('focus', check);
      document.removeEventListener('visibilitychange', check);
    };
  }, [atEnd, hasNewer, newest, readSeq, unread]);
}
