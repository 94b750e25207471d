import { describe, it, expect } from 'vitest';
import { signal } from '@preact/signals';
import type { Chat, ChatEvent, Me, ParleyClient } from '@parley/sdk';
import { ChatsModel } from './chats-model.ts';
import { PeopleModel } from './people-model.ts';

function chat(id: string, over: Partial<Chat> = {}): Chat {
  return { id, kind: 'group', title: id, ownerId: 'me', role: 'owner', memberCount: 2, lastSeq: 1, lastMessage: null, readSeq: 0, unreadCount: 0, muted: false, createdAt: '2026-03-01T09:00:00.000Z', ...over };
}

/** A client that knows some chats, and counts how often each is fetched. */
function fakeClient(chats: Chat[]) {
  const fetched: string[] = [];
  const client = {
    listChats: async () => ({ chats }),
    getChat: async ({ chatId }: { chatId: string }) => {
      fetched.push(chatId);
      const c = chats.find((x) => x.id === chatId);
      if (!c) throw new Error('not found');
      return c;
    },
    getPresence: async () => ({ presence: [] }),
  } as unknown as ParleyClient;
  return { client, fetched };
}

function models(chats: Chat[]) {
  const { client, fetched } = fakeClient(chats);
  const me = signal<Me | null>(null);
  const people = new PeopleModel(client, me);
  return { chats: new ChatsModel(client, people, me), fetched };
}

const event = (type: ChatEvent['type'], chatId: string, seq: number, over: Partial<ChatEvent> = {}): ChatEvent => ({ log: 'chat', type, chatId, seq, actorId: 'bob', at: '2026-03-01T10:00:00.000Z', ...over });

describe('ChatsModel', () => {
  it('load() lists chats newest first', async () => {
    const { chats } = models([chat('old', { createdAt: '2026-01-01T00:00:00.000Z' }), chat('new', { createdAt: '2026-02-01T00:00:00.000Z' })]);
    await chats.load();
    expect(chats.chatList.value.map((c) => c.id)).toEqual(['new', 'old']);
  });

  it('applyEvent() fetches a chat it does not have yet, once for events arriving together', async () => {
    const { chats, fetched } = models([chat('c1')]);
    chats.applyEvent(event('chat.updated', 'c1', 2, { title: 'x' }));
    chats.applyEvent(event('chat.updated', 'c1', 3, { title: 'y' }));
    await chats.refresh('c1');
    expect(fetched).toEqual(['c1']);
    expect(chats.chatMap.value.c1).toBeDefined();
  });

  it('applyEvent() tells an open member list to reload when members change', async () => {
    const { chats } = models([chat('c1')]);
    await chats.load();
    chats.applyEvent(event('member.added', 'c1', 2, { member: { userId: 'carol', role: 'member' } }));
    expect(chats.membersChanged.value).toBe(1);
  });

  it('markRead() clears the unread count when read to the end, then takes what the server says', async () => {
    const { chats } = models([chat('c1', { readSeq: 2, unreadCount: 3 })]);
    await chats.load();
    const sent: number[] = [];
    let answer!: (r: { readSeq: number; unreadCount: number }) => void;
    chats.markRead('c1', 5, (_id, seq) => (sent.push(seq), new Promise((r) => (answer = r))));
    expect(chats.chatMap.value.c1).toMatchObject({ readSeq: 5, unreadCount: 0 });
    answer({ readSeq: 6, unreadCount: 1 });
    await new Promise((r) => setTimeout(r, 0));
    expect(chats.chatMap.value.c1).toMatchObject({ readSeq: 6, unreadCount: 1 });
    chats.markRead('c1', 4, async () => ({ readSeq: 4, unreadCount: 0 }));
    expect(sent).toEqual([5]);
  });
});
