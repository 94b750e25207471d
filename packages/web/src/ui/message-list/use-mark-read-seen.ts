import { useEffect } from 'preact/hooks';

/**
 * Marks read what the reader has seen: up to the newest message whose bottom edge is on screen,
 * while the page is visible, and again when the page comes back into view. At the bottom of a
 * fully loaded chat the position is the newest message's, not the chat's: a read mark is itself a
 * change in the chat. Only a chat with unread messages is marked (my own messages after my read
 * position leave nothing to read). `ready` and `seen` are asked each time (the list may settle
 * after this render, and scrolling moves what is seen without a render).
 */
export function useMarkReadSeen(opts: {
  ready(): boolean;
  /** the newest message seen whole on screen, 0 for none */
  seen(): number;
  atEnd: boolean;
  hasNewer: boolean;
  newest: number;
  readSeq: number;
  unread: number;
  markRead(seq: number): void;
}): () => void {
  const { atEnd, hasNewer, newest, readSeq, unread } = opts;
  const check = () => {
    if (!opts.ready() || unread <= 0 || document.visibilityState !== 'visible') return;
    const upTo = atEnd && !hasNewer ? newest : opts.seen();
    if (upTo > readSeq) opts.markRead(upTo);
  };
  useEffect(() => {
    check();
    addEventListener('focus', check);
    document.addEventListener('visibilitychange', check);
    return () => {
      removeEventListener('focus', check);
      document.removeEventListener('visibilitychange', check);
    };
  });
  return check;
}
