import type { Message, PendingMessage } from '@parley/sdk';
import type { TimelineState } from '../../state/timeline-window.ts';
import { dayKey, formatDay } from '../shared/format.ts';

export type Row = { kind: 'day'; key: string; label: string } | { kind: 'msg'; key: string; m: Message } | { kind: 'pending'; key: string; p: PendingMessage };

/**
 * Messages in order with a separator before each new day, then my messages still on their way
 * (unless the loaded window stops before the newest message, or the message already came back).
 */
export function buildRows(t: Pick<TimelineState, 'messages' | 'hasNewer'>, pending: PendingMessage[], myId: string | undefined): Row[] {
  const rows: Row[] = [];
  let lastDay = '';
  for (const m of t.messages) {
    const d = dayKey(m.createdAt);
    if (d !== lastDay) {
      rows.push({ kind: 'day', key: `day-${d}`, label: formatDay(m.createdAt) });
      lastDay = d;
    }
    rows.push({ kind: 'msg', key: m.id, m });
  }
  if (t.hasNewer) return rows;
  for (const p of pending) {
    const echoed = t.messages.some((m) => m.clientMessageId === p.clientMessageId && m.senderId === myId);
    if (!echoed) rows.push({ kind: 'pending', key: `p-${p.clientMessageId}`, p });
  }
  return rows;
}
