import { signal, type ReadonlySignal, type Signal } from '@preact/signals';
import { createModel } from './create-model.ts';
import type { ChatEvent, ChatNotice, Message, ParleyClient } from '@parley/sdk';
import { EMPTY_TIMELINE, appendNotice, applyMessage, mergeMessages, mergeNotices, noticeOf, type TimelineState } from './timeline-window.ts';

const PAGE = 50;

/** A message (an event, my send's ack, an edit) or a service line that came live while a page of its chat was on its way. */
type Arrival = { m: Message; created: boolean } | { notice: ChatNotice };

/** The loaded history of each chat opened since sign-in, paged in both directions. */
export const TimelineModel = createModel((client: ParleyClient, onError: (err: unknown) => void) => {
  const timelines = new Map<string, Signal<TimelineState>>();
  /**
   * Per chat with a page on its way, what arrived meanwhile. The page may have been read before
   * those messages were stored, and the socket's cursor has moved past them: nothing would bring
   * them again, so they are applied once more on top of the page.
   */
  const arrivals = new Map<string, Arrival[]>();

  function get(chatId: string): Signal<TimelineState> {
    let t = timelines.get(chatId);
    if (!t) timelines.set(chatId, (t = signal<TimelineState>(EMPTY_TIMELINE)));
    return t;
  }

  async function guarded(chatId: string, kind: TimelineState['loading'], load: () => Promise<Partial<TimelineState>>): Promise<void> {
    const t = get(chatId);
    if (t.value.loading !== 'idle') return;
    t.value = { ...t.value, loading: kind };
    const meanwhile: Arrival[] = [];
    arrivals.set(chatId, meanwhile);
    try {
      const patch = await load();
      let next: TimelineState = { ...t.value, ...patch, loading: 'idle', loaded: true };
      for (const a of meanwhile) next = 'notice' in a ? appendNotice(next, a.notice) : applyMessage(next, a.m, a.created);
      t.value = next;
    } catch (err) {
      t.value = { ...t.value, loading: 'idle' };
      onError(err);
    } finally {
      if (arrivals.get(chatId) === meanwhile) arrivals.delete(chatId);
    }
  }

  /** A message for a chat's window: applied now, and again after a page on its way (see arrivals). */
  function arrive(m: Message, created: boolean): void {
    arrivals.get(m.chatId)?.push({ m, created });
    const t = timelines.get(m.chatId);
    if (t) t.value = applyMessage(t.value, m, created);
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
        return { messages: page.messages, notices: page.notices, hasOlder: page.hasMore, hasNewer: false };
      });
    },
    /** A window around a position, to come back to where the reader was. */
    loadAround(chatId: string, seq: number) {
      return guarded(chatId, 'initial', async () => {
        const [before, after] = await Promise.all([
          client.listMessages({ chatId, before: seq + 1, limit: PAGE }),
          client.listMessages({ chatId, after: seq, limit: PAGE }),
        ]);
        return {
          messages: mergeMessages(before.messages, after.messages),
          notices: mergeNotices(before.notices, after.notices),
          hasOlder: before.hasMore,
          hasNewer: after.hasMore,
        };
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
        const { messages: loaded, notices } = get(chatId).value;
        return older
          ? { messages: mergeMessages(page.messages, loaded), notices: mergeNotices(page.notices, notices), hasOlder: page.hasMore }
          : { messages: mergeMessages(loaded, page.messages), notices: mergeNotices(notices, page.notices), hasNewer: page.hasMore };
      });
    },
    /** Applies a live or synced change to a loaded window. */
    applyEvent(e: ChatEvent) {
      if (e.message) arrive(e.message, e.type === 'message.created');
      const notice = noticeOf(e);
      if (!notice) return;
      arrivals.get(e.chatId)?.push({ notice });
      const t = timelines.get(e.chatId);
      if (t) t.value = appendNotice(t.value, notice);
    },
    /** My message was acknowledged: show it in place of its pending copy, before its event arrives. */
    addSent(m: Message) {
      arrive(m, true);
    },
    /** Replaces a message after an edit or delete made over HTTP. */
    replace(m: Message) {
      arrive(m, false);
    },
    reset() {
      timelines.clear();
      arrivals.clear();
    },
  };
});
export type TimelineModel = InstanceType<typeof TimelineModel>;
