import type { ChatEvent, Message, ParleyClient, SyncCursor, SyncEvent } from '@parley/sdk';

/** Every message of a chat, oldest first, through listMessages pages. */
export async function allMessages(client: ParleyClient, chatId: string): Promise<Message[]> {
  const out: Message[] = [];
  let after = 0;
  for (;;) {
    const page = await client.listMessages({ chatId, after, limit: 100 });
    out.push(...page.messages);
    if (!page.hasMore || page.messages.length === 0) return out;
    after = page.messages.at(-1)!.seq;
  }
}

/** What a client knows after applying events: the messages of each chat it is in, by id. */
export class Replica {
  readonly chats = new Map<string, Map<string, Message>>();

  apply(events: SyncEvent[]): void {
    for (const e of events) {
      if (e.log === 'user') {
        if (e.type === 'chat.left' || e.type === 'chat.deleted') this.chats.delete(e.chatId!);
        continue;
      }
      if (!e.message) continue;
      let chat = this.chats.get(e.chatId);
      if (!chat) this.chats.set(e.chatId, (chat = new Map()));
      // Events carry the message as it is now: the latest one wins.
      chat.set(e.message.id, e.message);
    }
  }

  messages(chatId: string): Message[] {
    return [...(this.chats.get(chatId)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
  }
}

/** Pages through getChanges from a cursor until nothing more is waiting; checks each page's size. */
export async function catchUp(client: ParleyClient, cursor: SyncCursor, limit?: number): Promise<{ events: SyncEvent[]; cursor: SyncCursor; pages: number }> {
  const events: SyncEvent[] = [];
  let c = cursor;
  let pages = 0;
  for (;;) {
    const page = await client.getChanges({ userSeq: c.userSeq, chats: c.chats, ...(limit ? { limit } : {}) });
    pages++;
    if (limit && page.events.length > limit) throw new Error(`A page of ${page.events.length} events exceeds the limit of ${limit}`);
    events.push(...page.events);
    c = { userSeq: page.userSeq, chats: page.chats };
    if (!page.hasMore) return { events, cursor: c, pages };
    if (pages > 10_000) throw new Error('getChanges never finished');
  }
}

/** The chat events of one chat, in the order received. */
export function ofChat(events: SyncEvent[], chatId: string): ChatEvent[] {
  return events.filter((e): e is ChatEvent => e.log === 'chat' && e.chatId === chatId);
}

/** [from+1, from+2, ..., to] */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + 1 + i);
}
