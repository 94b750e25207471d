import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REACTIONS_PER_PERSON, type ChatEvent, type ParleyError } from '@parley/sdk';
import { startTestServer, stores, type TestServer } from './_harness.ts';

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

describe.each(await stores())('reactions on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => (t = await startTestServer(kind, { PARLEY_WRITE_RATE: '10000/10s', PARLEY_MESSAGE_RATE: '10000/10s' })));
  afterAll(async () => t?.close());

  it('counts who reacted with what, in history and through sync, as a message.reacted event of the chat log', async () => {
    const [alice, bob, carol] = await t.users(name('alice'), name('bob'), name('carol'));
    const group = await alice.client.createGroup({ title: 'Votes', memberIds: [bob.id, carol.id] });
    const m = await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'm', text: 'Pizza tonight?' });
    const start = await carol.client.getChanges({ userSeq: 0, chats: { [group.id]: m.seq } });

    await bob.client.addReaction({ chatId: group.id, messageId: m.id, emoji: '👍' });
    await carol.client.addReaction({ chatId: group.id, messageId: m.id, emoji: '👍' });
    const after = await carol.client.addReaction({ chatId: group.id, messageId: m.id, emoji: '🍕' });
    expect(after.reactions).toEqual([
      { emoji: '👍', count: 2, userIds: [bob.id, carol.id] },
      { emoji: '🍕', count: 1, userIds: [carol.id] },
    ]);
    // The same one again changes nothing and records nothing.
    expect((await bob.client.addReaction({ chatId: group.id, messageId: m.id, emoji: '👍' })).reactions).toEqual(after.reactions);

    const history = (await alice.client.listMessages({ chatId: group.id })).messages.find((x) => x.id === m.id)!;
    expect(history.reactions).toEqual(after.reactions);
    const changes = await carol.client.getChanges({ userSeq: start.userSeq, chats: { [group.id]: m.seq } });
    const reacted = changes.events.filter((e): e is ChatEvent => e.log === 'chat' && e.type === 'message.reacted');
    expect(reacted.map((e) => e.actorId)).toEqual([bob.id, carol.id, carol.id]);
    expect(reacted.map((e) => e.seq)).toEqual([m.seq + 1, m.seq + 2, m.seq + 3]);
    expect(reacted.at(-1)!.message!.reactions).toEqual(after.reactions);

    const back = await bob.client.removeReaction({ chatId: group.id, messageId: m.id, emoji: '👍' });
    expect(back.reactions).toEqual([
      { emoji: '👍', count: 1, userIds: [carol.id] },
      { emoji: '🍕', count: 1, userIds: [carol.id] },
    ]);
    // Taking back one I never made changes nothing.
    expect((await alice.client.removeReaction({ chatId: group.id, messageId: m.id, emoji: '🍕' })).reactions).toEqual(back.reactions);
    await carol.client.removeReaction({ chatId: group.id, messageId: m.id, emoji: '👍' });
    const last = await carol.client.removeReaction({ chatId: group.id, messageId: m.id, emoji: '🍕' });
    expect(last.reactions).toBeUndefined();
    expect((await alice.client.getChat({ chatId: group.id })).lastSeq).toBe(m.seq + 6);
  });

  it('keeps to the rules: one emoji, a few per person, members only, nothing on deleted or unseen messages', async () => {
    const [alice, bob, stranger, late] = await t.users(name('alice'), name('bob'), name('stranger'), name('late'));
    const group = await alice.client.createGroup({ title: 'Rules', memberIds: [bob.id] });
    const m = await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'r', text: 'react to me' });
    for (const emoji of ['', 'ok', '👍👍', '1', 'x'.repeat(65)]) {
      const bad = await fail(bob.client.addReaction({ chatId: group.id, messageId: m.id, emoji }));
      expect(bad.status).toBe(400);
    }
    const some = ['😀', '😂', '🥲', '😎'];
    for (const emoji of some.slice(0, MAX_REACTIONS_PER_PERSON)) await bob.client.addReaction({ chatId: group.id, messageId: m.id, emoji });
    const over = await fail(bob.client.addReaction({ chatId: group.id, messageId: m.id, emoji: some[MAX_REACTIONS_PER_PERSON]! }));
    expect([over.status, over.code]).toEqual([409, 'too_many_reactions']);

    const notMine = await fail(stranger.client.addReaction({ chatId: group.id, messageId: m.id, emoji: '👍' }));
    expect(notMine.status).toBe(404);
    await alice.client.addMembers({ chatId: group.id, userIds: [late.id] });
    const unseen = await fail(late.client.addReaction({ chatId: group.id, messageId: m.id, emoji: '👍' }));
    expect(unseen.status).toBe(404);

    await alice.client.deleteMessage({ chatId: group.id, messageId: m.id });
    const tombstone = (await alice.client.listMessages({ chatId: group.id })).messages.find((x) => x.id === m.id)!;
    expect(tombstone.reactions).toBeUndefined();
    expect((await fail(bob.client.addReaction({ chatId: group.id, messageId: m.id, emoji: '👍' }))).status).toBe(404);
    const rows = await t.server.ctx.db.kysely.selectFrom('reactions').select('emoji').where('message_id', '=', m.id).execute();
    expect(rows).toEqual([]);
  });

  it('channel subscribers react too, and everyone in the channel sees the count', async () => {
    const [owner, sub1, sub2] = await t.users(name('owner'), name('sub'), name('sub'));
    const channel = await owner.client.createChannel({ title: 'News', memberIds: [sub1.id, sub2.id] });
    const post = await owner.client.sendMessage({ chatId: channel.id, clientMessageId: 'p', text: 'Big news' });
    await sub1.client.addReaction({ chatId: channel.id, messageId: post.id, emoji: '🔥' });
    await sub2.client.addReaction({ chatId: channel.id, messageId: post.id, emoji: '🔥' });
    const seen = (await owner.client.listMessages({ chatId: channel.id })).messages.find((x) => x.id === post.id)!;
    expect(seen.reactions).toEqual([{ emoji: '🔥', count: 2, userIds: [sub1.id, sub2.id] }]);
  });
});
