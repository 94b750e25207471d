import { signal, type Signal } from '@preact/signals';
import type { ChatEvent, Message } from '@parley/sdk';
import { EMPTY_TIMELINE, applyMessage, appendMessage, mergeMessages as merge, replaceMessage as replaced, type TimelineState } from './timeline-window.ts';

export type { TimelineState };
import { client, showNotice } from './app-state.ts';

const PAGE = 50;
export const timelines = new Map<string, Signal<TimelineState>>();

export function timeline(chatId: string): Signal<TimelineState> {
  let t = timelines.get(chatId);
  if (!t) timelines.set(chatId, (t = signal<TimelineState>(EMPTY_TIMELINE)));
  return t;
}

export function resetTimelines(): void {
  timelines.clear();
}

async function guarded(t: Signal<TimelineState>, kind: TimelineState['loading'], load: () => Promise<Partial<TimelineState>>): Promise<void> {
  if (t.value.loading !== 'idle') return;
  t.value = { ...t.value, loading: kind };
  try {
    const patch = await load();
    t.value = { ...t.value, ...patch, loading: 'idle', loaded: true };
  } catch (err) {
    t.value = { ...t.value, loading: 'idle' };
    showNotice(err);
  }
}

/** The newest page; what is already loaded is replaced, so the window stays contiguous. */
export function loadLatest(chatId: string): Promise<void> {
  const t = timeline(chatId);
  return guarded(t, 'initial', async () => {
    const page = await client.listMessages({ chatId, limit: PAGE });
    return { messages: page.messages, hasOlder: page.hasMore, hasNewer: false };
  });
}

/** A window around a position, to come back to where the reader was. */
export function loadAround(chatId: string, seq: number): Promise<void> {
  const t = timeline(chatId);
  return guarded(t, 'initial', async () => {
    const [before, after] = await Promise.all([
      client.listMessages({ chatId, before: seq + 1, limit: PAGE }),
      client.listMessages({ chatId, after: seq, limit: PAGE }),
    ]);
    return { messages: merge(before.messages, after.messages), hasOlder: before.hasMore, hasNewer: after.hasMore };
  });
}

export function loadOlder(chatId: string): Promise<void> {
  const t = timeline(chatId);
  const first = t.value.messages[0];
  if (!t.value.hasOlder || !first) return Promise.resolve();
  return guarded(t, 'older', async () => {
    const page = await client.listMessages({ chatId, before: first.seq, limit: PAGE });
    return { messages: merge(page.messages, timeline(chatId).value.messages), hasOlder: page.hasMore };
  });
}

export function loadNewer(chatId: string): Promise<void> {
  const t = timeline(chatId);
  const last = t.value.messages[t.value.messages.length - 1];
  if (!t.value.hasNewer || !last) return Promise.resolve();
  return guarded(t, 'newer', async () => {
    const page = await client.listMessages({ chatId, after: last.seq, limit: PAGE });
    return { messages: merge(timeline(chatId).value.messages, page.messages), hasNewer: page.hasMore };
  });
}

/** Applies a live or synced change to a loaded timeline. */
export function applyMessageEvent(e: ChatEvent): void {
  const t = timelines.get(e.chatId);
  if (t && e.message) t.value = applyMessage(t.value, e.message, e.type === 'message.created');
}

/** My message was acknowledged: show it in place of its pending copy, before its event arrives. */
export function addSentMessage(m: Message): void {
  const t = timelines.get(m.chatId);
  if (t) t.value = appendMessage(t.value, m);
}

/** Replaces a message after an edit or delete made over HTTP. */
export function replaceMessage(m: Message): void {
  const t = timelines.get(m.chatId);
  if (t) t.value = replaced(t.value, m);
}
