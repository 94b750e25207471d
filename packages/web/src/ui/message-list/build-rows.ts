import type { ChatNotice, Message, PendingMessage } from '@parley/sdk';
import type { TimelineState } from '../../state/timeline-window.ts';
import { dayKey, formatDay } from '../shared/format.ts';

export type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'unread'; key: string }
  | { kind: 'notice'; key: string; n: ChatNotice }
  | { kind: 'msg'; key: string; m: Message }
  | { kind: 'pending'; key: string; p: PendingMessage };

/** The key of the "Unread messages" line, to find it among the rows. */
export const UNREAD_KEY = 'unread-line';

/**
 * Messages and service lines in order with a separator before each new day, an "Unread messages"
 * line before the first message from someone else after `unreadAfter` (the read position when the
 * chat was opened), then my messages still on their way (unless the loaded window stops before
 * the newest message, or the message already came back).
 */
export function buildRows(
  t: Pick<TimelineState, 'messages' | 'hasNewer'> & { notices?: ChatNotice[] },
  pending: PendingMessage[],
  myId: string | undefined,
  unreadAfter: number | null = null,
): Row[] {
  const rows: Row[] = [];
  let lastDay = '';
  let unreadPlaced = unreadAfter === null;
  const day = (at: string) => {
    const d = dayKey(at);
    if (d === lastDay) return;
    rows.push({ kind: 'day', key: `day-${d}`, label: formatDay(at) });
    lastDay = d;
  };
  const notices = t.notices ?? [];
  let n = 0;
  for (const m of t.messages) {
    for (; n < notices.length && notices[n]!.seq < m.seq; n++) {
      day(notices[n]!.at);
      rows.push({ kind: 'notice', key: `n-${notices[n]!.seq}`, n: notices[n]! });
    }
    day(m.createdAt);
    if (!unreadPlaced && m.seq > (unreadAfter ?? 0) && m.senderId !== myId) {
      rows.push({ kind: 'unread', key: UNREAD_KEY });
      unreadPlaced = true;
    }
    rows.push({ kind: 'msg', key: m.id, m });
  }
  for (; n < notices.length; n++) {
    day(notices[n]!.at);
    rows.push({ kind: 'notice', key: `n-${notices[n]!.seq}`, n: notices[n]! });
  }
  if (t.hasNewer) return rows;
  for (const p of pending) {
    const echoed = t.messages.some((m) => m.clientMessageId === p.clientMessageId && m.senderId === myId);
    if (!echoed) rows.push({ kind: 'pending', key: `p-${p.clientMessageId}`, p });
  }
  return rows;
}
