import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatEvent } from '@parley/sdk';
import { startTestServer, stores, type TestServer } from './_harness.ts';

describe.each(await stores())('mentions on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => (t = await startTestServer(kind, { PARLEY_WRITE_RATE: '10000/10s', PARLEY_MESSAGE_RATE: '10000/10s' })));
  afterAll(async () => t?.close());

  it('names the members a group message @mentions, whatever the case and punctuation, and not others or the sender', async () => {
    const [alice, bob, carol, outsider] = await t.users(name('alice'), name('bob'), name('carol'), name('outsider'));
    const group = await alice.client.createGroup({ title: 'Team', memberIds: [bob.id, carol.id] });
    const text = `@${bob.username.toUpperCase()}, ask (@${carol.username}) and @${outsider.username}; me: @${alice.username}. mail ${bob.username}@example.org`;
    const m = await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'm', text });
    expect(m.mentions).toEqual([bob.id, carol.id]);
    const seen = (await bob.client.listMessages({ chatId: group.id })).messages.find((x) => x.id === m.id)!;
    expect(seen.mentions).toEqual([bob.id, carol.id]);
    const plain = await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'p', text: `no mention of ${bob.username}` });
    expect(plain.mentions).toBeUndefined();
  });

  it("counts a group's unread messages that mention me in the chat list, until read", async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const group = await alice.client.createGroup({ title: 'Badge', memberIds: [bob.id] });
    await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'a', text: 'plain' });
    const m = await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'b', text: `@${bob.username} look` });
    const chat = async () => (await bob.client.listChats()).chats.find((c) => c.id === group.id)!;
    expect([(await chat()).unreadCount, (await chat()).unreadMentions]).toEqual([2, 1]);
    expect((await alice.client.listChats()).chats.find((c) => c.id === group.id)!.unreadMentions).toBeUndefined();
    await bob.client.markRead({ chatId: group.id, seq: m.seq });
    expect((await chat()).unreadMentions).toBeUndefined();
  });

  it('an edit names the mentions anew, and the edit event carries them', async () => {
    const [alice, bob, carol] = await t.users(name('alice'), name('bob'), name('carol'));
    const group = await alice.client.createGroup({ title: 'Edits', memberIds: [bob.id, carol.id] });
    const m = await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'm', text: `hi @${bob.username}` });
    const edited = await alice.client.editMessage({ chatId: group.id, messageId: m.id, text: `hi @${carol.username}!` });
    expect(edited.mentions).toEqual([carol.id]);
    const changes = await carol.client.getChanges({ userSeq: 0, chats: { [group.id]: m.seq } });
    const edit = changes.events.find((e): e is ChatEvent => e.log === 'chat' && e.type === 'message.edited')!;
    expect(edit.message!.mentions).toEqual([carol.id]);
    const cleared = await alice.client.editMessage({ chatId: group.id, messageId: m.id, text: 'hi all' });
    expect(cleared.mentions).toBeUndefined();
  });

  it('has no mentions outside groups, in forwards, or once deleted', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const m = await alice.client.sendMessage({ chatId: chat.id, clientMessageId: 'm', text: `@${bob.username}` });
    expect(m.mentions).toBeUndefined();
    const group = await alice.client.createGroup({ title: 'G', memberIds: [bob.id] });
    const g = await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'g', text: `@${bob.username} look` });
    const fwd = await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'f', forwardFrom: { chatId: group.id, messageId: g.id } });
    expect(fwd.mentions).toBeUndefined();
    await alice.client.deleteMessage({ chatId: group.id, messageId: g.id });
    expect((await bob.client.listMessages({ chatId: group.id })).messages.find((x) => x.id === g.id)!.mentions).toBeUndefined();
  });
});
