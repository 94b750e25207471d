import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatEvent, type ParleyError } from '@parley/sdk';
import { startTestServer, stores, type TestServer } from './_harness.ts';

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

describe.each(await stores())('pins on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => (t = await startTestServer(kind, { PARLEY_WRITE_RATE: '10000/10s', PARLEY_MESSAGE_RATE: '10000/10s' })));
  afterAll(async () => t?.close());

  it('lists pins newest first, and a device offline learns of pins and unpins by sync as message.pinned events', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const a = await alice.client.sendMessage({ chatId: chat.id, clientMessageId: 'a', text: 'first' });
    const b = await bob.client.sendMessage({ chatId: chat.id, clientMessageId: 'b', text: 'second' });
    const start = await bob.client.getChanges({ userSeq: 0, chats: { [chat.id]: b.seq } });

    // In a private chat either member pins.
    const pinnedA = await bob.client.pinMessage({ chatId: chat.id, messageId: a.id });
    expect(pinnedA.pinnedAt).toBeTypeOf('string');
    await new Promise((r) => setTimeout(r, 5));
    await alice.client.pinMessage({ chatId: chat.id, messageId: b.id });
    // Again changes nothing and records nothing.
    await alice.client.pinMessage({ chatId: chat.id, messageId: b.id });
    expect((await bob.client.listPins({ chatId: chat.id })).messages.map((m) => m.text)).toEqual(['second', 'first']);
    await alice.client.unpinMessage({ chatId: chat.id, messageId: a.id });
    expect((await bob.client.listPins({ chatId: chat.id })).messages.map((m) => m.id)).toEqual([b.id]);

    const changes = await bob.client.getChanges({ userSeq: start.userSeq, chats: { [chat.id]: b.seq } });
    const pins = changes.events.filter((e): e is ChatEvent => e.log === 'chat' && e.type === 'message.pinned');
    expect(pins.map((e) => [e.message!.id, e.pinned, e.actorId])).toEqual([
      [a.id, true, bob.id],
      [b.id, true, alice.id],
      [a.id, false, alice.id],
    ]);
    expect(pins.map((e) => e.seq)).toEqual([b.seq + 1, b.seq + 2, b.seq + 3]);
    const history = (await bob.client.listMessages({ chatId: chat.id })).messages;
    expect(history.map((m) => m.pinnedAt !== undefined)).toEqual([false, true]);
  });

  it('in groups and channels only the owner and admins pin; a stranger gets the 404 of a missing chat', async () => {
    const [owner, admin, member, stranger] = await t.users(name('owner'), name('admin'), name('member'), name('stranger'));
    const group = await owner.client.createGroup({ title: 'Pins', memberIds: [admin.id, member.id] });
    await owner.client.setMemberRole({ chatId: group.id, userId: admin.id, role: 'admin' });
    const m = await member.client.sendMessage({ chatId: group.id, clientMessageId: 'm', text: 'pin me' });
    const refused = await fail(member.client.pinMessage({ chatId: group.id, messageId: m.id }));
    expect([refused.status, refused.code]).toEqual([403, 'forbidden']);
    await admin.client.pinMessage({ chatId: group.id, messageId: m.id });
    const unpinRefused = await fail(member.client.unpinMessage({ chatId: group.id, messageId: m.id }));
    expect(unpinRefused.status).toBe(403);

    const notMine = await fail(stranger.client.pinMessage({ chatId: group.id, messageId: m.id }));
    const missing = await fail(stranger.client.pinMessage({ chatId: 'c_doesnotexist', messageId: m.id }));
    expect([notMine.status, notMine.code, notMine.message.replace(group.id, 'X')]).toEqual([404, 'not_found', missing.message.replace('c_doesnotexist', 'X')]);
    expect((await fail(stranger.client.listPins({ chatId: group.id }))).status).toBe(404);
    const wrongMessage = await fail(owner.client.pinMessage({ chatId: group.id, messageId: 'm_nope' }));
    expect([wrongMessage.status, wrongMessage.code]).toEqual([404, 'not_found']);

    const channel = await owner.client.createChannel({ title: 'News', memberIds: [member.id] });
    const post = await owner.client.sendMessage({ chatId: channel.id, clientMessageId: 'p', text: 'post' });
    expect((await fail(member.client.pinMessage({ chatId: channel.id, messageId: post.id }))).status).toBe(403);
    await owner.client.pinMessage({ chatId: channel.id, messageId: post.id });
    expect((await member.client.listPins({ chatId: channel.id })).messages.map((x) => x.id)).toEqual([post.id]);
  });

  it('keeps at most 50 pins a chat, and deleting a message unpins it', async () => {
    const alice = await t.user(name('alice'));
    const self = (await alice.client.listChats()).chats[0]!;
    const ids: string[] = [];
    for (let i = 0; i < 51; i++) ids.push((await alice.client.sendMessage({ chatId: self.id, clientMessageId: `s${i}`, text: `note ${i}` })).id);
    for (const id of ids.slice(0, 50)) await alice.client.pinMessage({ chatId: self.id, messageId: id });
    const over = await fail(alice.client.pinMessage({ chatId: self.id, messageId: ids[50]! }));
    expect([over.status, over.code]).toEqual([409, 'too_many_pins']);

    await alice.client.deleteMessage({ chatId: self.id, messageId: ids[0]! });
    const pins = (await alice.client.listPins({ chatId: self.id })).messages;
    expect(pins).toHaveLength(49);
    expect(pins.map((m) => m.id)).not.toContain(ids[0]);
    // The room a deleted pin leaves is free again; a deleted message cannot be pinned.
    await alice.client.pinMessage({ chatId: self.id, messageId: ids[50]! });
    expect((await fail(alice.client.pinMessage({ chatId: self.id, messageId: ids[0]! }))).status).toBe(404);
  });

  it('pins by id in an end-to-end encrypted chat', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const m = await alice.client.sendMessage({ chatId: chat.id, clientMessageId: 'e', text: 'before encryption' });
    await t.server.ctx.db.kysely.updateTable('chats').set({ e2ee: 1 }).where('id', '=', chat.id).execute();
    await bob.client.pinMessage({ chatId: chat.id, messageId: m.id });
    expect((await alice.client.listPins({ chatId: chat.id })).messages.map((x) => x.id)).toEqual([m.id]);
  });

  it('answers bad input with a 4xx JSON error', async () => {
    const alice = await t.user(name('alice'));
    const self = (await alice.client.listChats()).chats[0]!;
    const res = await fetch(`${t.url}/api/v1/chats/${self.id}/messages/${'x'.repeat(300)}/pin`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.session.accessToken}` },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toMatch(/^[a-z_]+$/);
  });
});
