import { signal, type ReadonlySignal, type Signal } from '@preact/signals';
import type { ChatEvent, Message, ParleyClient } from '@parley/sdk';
import { createModel } from './create-model.ts';

/** Pins in the order the bar cycles through them: the latest pinned first. */
function byPinnedAt(list: Message[]): Message[] {
  return [...list].sort((a, b) => Date.parse(b.pinnedAt ?? '') - Date.parse(a.pinnedAt ?? '') || b.seq - a.seq);
}

/** The pinned messages of each chat opened since sign-in, kept live by the chat log's events. */
export const PinsModel = createModel((client: ParleyClient) => {
  const pins = new Map<string, Signal<Message[] | null>>();

  function get(chatId: string): Signal<Message[] | null> {
    let s = pins.get(chatId);
    if (!s) pins.set(chatId, (s = signal<Message[] | null>(null)));
    return s;
  }

  /** A message as it is now: in the list while pinned and not deleted, out of it otherwise. */
  function apply(m: Message): void {
    const s = pins.get(m.chatId);
    if (!s?.value) return;
    const rest = s.value.filter((x) => x.id !== m.id);
    const pinned = m.pinnedAt !== undefined && m.deletedAt === null;
    if (!pinned && rest.length === s.value.length) return;
    s.value = pinned ? byPinnedAt([m, ...rest]) : rest;
  }

  return {
    /** A chat's pins, null until loaded. */
    pins(chatId: string): ReadonlySignal<Message[] | null> {
      return get(chatId);
    },
    async load(chatId: string): Promise<void> {
      try {
        get(chatId).value = byPinnedAt((await client.listPins({ chatId })).messages);
      } catch {
        // Not a member any more, or offline: the bar stays as it was.
      }
    },
    /** A live or synced change: pins and unpins, and edits or deletions of pinned messages. */
    applyEvent(e: ChatEvent): void {
      if (!e.message) return;
      if (e.type === 'message.pinned' || e.type === 'message.deleted') apply(e.message);
      else if (e.type === 'message.edited' || e.type === 'message.reacted') {
        const s = pins.get(e.chatId);
        if (s?.value?.some((x) => x.id === e.message!.id)) apply(e.message);
      }
    },
    /** My own pin or unpin, answered over HTTP before its event arrives. */
    replace: apply,
    reset(): void {
      pins.clear();
    },
  };
});
export type PinsModel = InstanceType<typeof PinsModel>;
