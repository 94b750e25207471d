import { signal, type ReadonlySignal, type Signal } from '@preact/signals';
import { createModel } from './create-model.ts';
import type { ChatEvent, Message, ParleyClient } from '@parley/sdk';
import { EMPTY_TIMELINE, appendMessage, applyMessage, mergeMessages, replaceMessage, type TimelineState } from './timeline-window.ts';

const PAGE = 50;

/** The loaded history of each chat opened since sign-in, paged in both directions. */
export const TimelineModel = createModel((client: ParleyClient, onError: (err: unknown) => void) => {
  const timelines = new Map<string, Signal<TimelineState>>();

  function get(chatId: string): Signal<TimelineState> {
    let t = timelines.get(chatId);
    if (!t) timelines.set(chatId, (t = signal<TimelineState>(EMPTY_TIMELINE)));
    return t;
  }

  async function guarded(chatId: string, kind: TimelineState['loading'], load: () => Promise<Partial<TimelineState>>): Promise<void> {
    const t = get(chatId);
    if (t.value.loading !== 'idle') return;
    t.value = { ...t.value, loading: kind };
    try {
      const patch = await load();
      t.value = { ...t.value, ...patch, loading: 'idle', loaded: true };
    } catch (err) {
      t.value = { ...t.value, loading: 'idle' };
      onError(err);
    }
  }

  function change(chatId: string, fn: (s: TimelineState) => TimelineState): void {
    const t = timelines.get(chatId);
    if (t) t.value = fn(t.value);
  }

  return {
    /** A chat's window, created empty on first use. */
    timeline(chatId: string): ReadonlySignal<TimelineState> {
      return get(chatId);
    },
    /** The newest page; what is already loaded is replaced, so the window stays contiguous. */
    loadLatest(chatId: string) {
      return guarded(chatId, 'initial', async () => {
        const page = await client.listMessages({ chatId, limit: PAGE });
        return { messages: page.messages, hasOlder: page.hasMore, hasNewer: false };
      });
    },
    /** A window around a position, to come back to where the reader was. */
    loadAround(chatId: string, seq: number) {
      return guarded(chatId, 'initial', async () => {
        const [before, after] = await Promise.all([
          client.listMessages({ chatId, before: seq + 1, limit: PAGE }),
          client.listMessages({ chatId, after: seq, limit: PAGE }),
        ]);
        return { messages: mergeMessages(before.messages, after.messages), hasOlder: before.hasMore, hasNewer: after.hasMore };
      });
    },
    /** The page before the first loaded message, or after the last one, when there is one. */
    loadMore(chatId: string, side: 'older' | 'newer') {
      const { messages, hasOlder, hasNewer } = get(chatId).value;
      const older = side === 'older';
      const edge = older ? messages[0] : messages[messages.length - 1];
      if (!(older ? hasOlder : hasNewer) || !edge) return Promise.resolve();
      return guarded(chatId, side, async () => {
        const page = await client.listMessages({ chatId, [older ? 'before' : 'after']: edge.seq, limit: PAGE });
        const loaded = get(chatId).value.messages;
        return older
          ? { messages: mergeMessages(page.messages, loaded), hasOlder: page.hasMore }
          : { messages: mergeMessages(loaded, page.messages), hasNewer: page.hasMore };
      });
    },
    /** Applies a live or synced change to a loaded window. */
    applyEvent(e: ChatEvent) {
      const m = e.message;
      if (m) change(e.chatId, (s) => applyMessage(s, m, e.type === 'message.created'));
    },
    /** My message was acknowledged: show it in place of its pending copy, before its event arrives. */
    addSent(m: Message) {
      change(m.chatId, (s) => appendMessage(s, m));
    },
    /** Replaces a message after an edit or delete made over HTTP. */
    replace(m: Message) {
      change(m.chatId, (s) => replaceMessage(s, m));
    },
    reset() {
      timelines.clear();
    },
  };
});
export type TimelineModel = InstanceType<typeof TimelineModel>;
