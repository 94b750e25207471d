import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, stores, type TestServer } from './_harness.ts';
import { eventually, realtimeFor } from './_realtime.ts';

describe.each(await stores())('realtime chat on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(async () => t?.close());

  it('delivers a private chat live and resyncs an offline device', async () => {
    const alice = await t.user('alice');
    const bob = await t.user('bob');
    const a = realtimeFor(alice);
    const b = realtimeFor(bob);
    await a.rt.connect();
    await b.rt.connect();
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    expect(chat).toMatchObject({ kind: 'private', title: 'Bob', peer: { username: 'bob' } });
    const sent = await a.rt.send({ chatId: chat.id, text: 'hello bob' }).acked;
    expect(sent).toMatchObject({ seq: 1, text: 'hello bob', senderId: alice.id });
    await eventually(() => b.events.some((e) => e.log === 'chat' && e.type === 'message.created' && e.message?.text === 'hello bob'), 5000, 'bob receives');
    b.rt.close();
    const m2 = await alice.client.sendMessage({ chatId: chat.id, text: 'while you were away', clientMessageId: 'c2' });
    await alice.client.editMessage({ chatId: chat.id, messageId: m2.id, text: 'edited away' });
    await alice.client.deleteMessage({ chatId: chat.id, messageId: sent.id });
    const before = b.events.length;
    await b.rt.connect();
    const missed = b.events.slice(before).filter((e) => e.log === 'chat');
    expect(missed.map((e) => (e as { type: string }).type)).toEqual(['message.created', 'message.edited', 'message.deleted']);
    const list = await bob.client.listMessages({ chatId: chat.id });
    expect(list.messages.map((m) => m.text)).toEqual([null, 'edited away']);
    const chats = await bob.client.listChats();
    expect(chats.chats.map((c) => c.kind).sort()).toEqual(['private', 'self']);
    expect(chats.chats.find((c) => c.kind === 'private')!.unreadCount).toBe(1);
    a.rt.close();
    b.rt.close();
  });
});
