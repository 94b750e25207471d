import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ParleyClient, ParleyRealtime, type PendingMessage, type SyncEvent, type WebSocketFactory } from '@parley/sdk';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { eventually } from './_realtime.ts';
import { allMessages, ofChat, Replica } from './_sync.ts';

/** One device: a realtime client, everything it applied, and what it knows as a result. */
function device(client: ParleyClient) {
  const rt = new ParleyRealtime(client, { WebSocket: WebSocket as unknown as WebSocketFactory, minBackoffMs: 50, maxBackoffMs: 500 });
  const events: SyncEvent[] = [];
  const replica = new Replica();
  const outbox: PendingMessage[] = [];
  rt.on('event', (e) => {
    events.push(e);
    replica.apply([e]);
  });
  rt.on('outbox', (p) => outbox.push(p));
  return { client, rt, events, replica, outbox };
}
type Device = ReturnType<typeof device>;

/** Each chat's events on a device run one position after another, from the first it got: nothing twice, nothing skipped. */
function expectOrdered(d: Device, chatId: string): void {
  const seqs = ofChat(d.events, chatId).map((e) => e.seq);
  expect(seqs, `chat ${chatId}`).toEqual(seqs.map((_, i) => seqs[0]! + i));
}

describe.each(await stores())('two people, two devices, three chats on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_LOGIN_LIMIT: '1000/60s' });
  });
  afterAll(async () => t?.close());

  async function secondDevice(u: TestUser, deviceName: string): Promise<ParleyClient> {
    const c = t.client();
    await c.login({ username: u.username, password: u.password, deviceName });
    return c;
  }

  /** Waits until every device in `devices` knows exactly what the server has in each chat. */
  async function converged(devices: Device[], chatIds: string[], reader: ParleyClient): Promise<void> {
    const truth = Object.fromEntries(await Promise.all(chatIds.map(async (id) => [id, await allMessages(reader, id)] as const)));
    await eventually(
      () => devices.every((d) => chatIds.every((id) => JSON.stringify(d.replica.messages(id)) === JSON.stringify(truth[id]))),
      10_000,
      'the devices to converge',
    );
    for (const d of devices) for (const id of chatIds) expect(d.replica.messages(id)).toEqual(truth[id]);
  }

  it('chats live in a private chat, a group and a channel; an offline device converges exactly on reconnect', async () => {
    const [alice, bob, carol] = await t.users('alice', 'bob', 'carol');
    const laptop = device(alice.client);
    const phone = device(await secondDevice(alice, 'phone'));
    const bobs = device(bob.client);
    const carols = device(carol.client);
    const all = [laptop, phone, bobs, carols];
    await Promise.all(all.map((d) => d.rt.connect()));
    expect(all.map((d) => d.rt.state)).toEqual(['online', 'online', 'online', 'online']);

    const priv = await alice.client.createPrivateChat({ userId: bob.id });
    const group = await alice.client.createGroup({ title: 'Trip', memberIds: [bob.id, carol.id] });
    const channel = await alice.client.createChannel({ title: 'Announcements', memberIds: [bob.id] });

    // Live: each message reaches the other people and the sender's other device.
    const hi = await laptop.rt.send({ chatId: priv.id, text: 'hi bob' }).acked;
    await eventually(
      () => bobs.replica.messages(priv.id).some((m) => m.id === hi.id) && phone.replica.messages(priv.id).some((m) => m.id === hi.id),
      5000,
      'hi',
    );
    const reply = await bobs.rt.send({ chatId: priv.id, text: 'hi alice', replyToId: hi.id }).acked;
    await eventually(
      () => laptop.replica.messages(priv.id).some((m) => m.id === reply.id) && phone.replica.messages(priv.id).some((m) => m.id === reply.id),
      5000,
      'reply',
    );
    const g1 = await phone.rt.send({ chatId: group.id, text: 'where to?' }).acked;
    const g2 = await bobs.rt.send({ chatId: group.id, text: 'the coast' }).acked;
    await carols.rt.send({ chatId: group.id, text: 'mountains' }).acked;
    const post = await laptop.rt.send({ chatId: channel.id, text: 'Welcome' }).acked;
    // A subscriber's post fails for good and says so.
    const refused = bobs.rt.send({ chatId: channel.id, text: 'can I post?' });
    await expect(refused.acked).rejects.toMatchObject({ code: 'cannot_post' });
    expect(bobs.outbox.filter((p) => p.clientMessageId === refused.clientMessageId).map((p) => p.state)).toEqual(['pending', 'failed']);
    expect(laptop.outbox.filter((p) => p.message?.id === hi.id).map((p) => p.state)).toEqual(['sent']);
    // Carol is not in the private chat or the channel and hears nothing of them.
    await converged(all, [group.id], carol.client);
    await converged([laptop, phone, bobs], [priv.id, group.id, channel.id], alice.client);
    expect(carols.replica.chats.has(priv.id) || carols.replica.chats.has(channel.id)).toBe(false);

    // Typing reaches the others through the SDK too.
    const typing: { chatId: string; userId: string }[] = [];
    bobs.rt.on('typing', (x) => typing.push(x));
    laptop.rt.typing(group.id);
    await eventually(() => typing.length > 0, 5000, 'typing');
    expect(typing).toEqual([{ chatId: group.id, userId: alice.id }]);

    // Read receipts: Bob reads the private chat, Alice's devices see it.
    await bobs.rt.markRead(priv.id, bobs.rt.cursor.chats[priv.id]!);
    await eventually(() => [laptop, phone].every((d) => d.events.some((e) => e.type === 'read.updated' && e.chatId === priv.id)), 5000, 'the read receipt');

    // Bob goes offline and misses edits, deletes, new messages and a member leaving.
    bobs.rt.close();
    expect(bobs.rt.state).toBe('offline');
    const missedFrom = bobs.events.length;
    await alice.client.editMessage({ chatId: priv.id, messageId: hi.id, text: 'hi bob (edited)' });
    const gone = await phone.rt.send({ chatId: priv.id, text: 'oops, wrong chat' }).acked;
    await alice.client.deleteMessage({ chatId: priv.id, messageId: gone.id });
    await alice.client.sendMessage({ chatId: priv.id, text: 'call me', clientMessageId: 'call' });
    await alice.client.editMessage({ chatId: group.id, messageId: g1.id, text: 'where to? (vote)' });
    // The owner deletes Bob's message in the group.
    await alice.client.deleteMessage({ chatId: group.id, messageId: g2.id });
    await carols.rt.send({ chatId: group.id, text: 'mountains it is' }).acked;
    await carol.client.leaveChat({ chatId: group.id });
    await alice.client.editMessage({ chatId: channel.id, messageId: post.id, text: 'Welcome, all' });
    await laptop.rt.send({ chatId: channel.id, text: 'Second post' }).acked;
    await alice.client.deleteMessage({ chatId: channel.id, messageId: post.id });
    // Bob writes while offline: the message waits in his outbox.
    const queued = bobs.rt.send({ chatId: group.id, text: 'back soon' });
    expect(bobs.rt.outbox.map((p) => [p.clientMessageId, p.state])).toEqual([
      [refused.clientMessageId, 'failed'],
      [queued.clientMessageId, 'pending'],
    ]);
    expect(bobs.events.length).toBe(missedFrom);

    // Alice's two devices were live throughout.
    await converged([laptop, phone], [priv.id, group.id, channel.id], alice.client);

    await bobs.rt.connect();
    const sentLater = await queued.acked;
    expect(bobs.rt.outbox.map((p) => p.state)).toEqual(['failed']);
    await converged([laptop, phone, bobs], [priv.id, group.id, channel.id], bob.client);
    // Exactly once: the queued message is there a single time.
    expect((await allMessages(bob.client, group.id)).filter((m) => m.clientMessageId === queued.clientMessageId)).toEqual([sentLater]);
    const missed = bobs.events.slice(missedFrom);
    expect(missed.filter((e) => e.log === 'chat').map((e) => e.type)).toEqual(
      expect.arrayContaining(['message.edited', 'message.deleted', 'message.created', 'member.removed']),
    );
    for (const d of [laptop, phone, bobs]) for (const id of [priv.id, group.id, channel.id]) expectOrdered(d, id);
    // Carol left: her device forgot the group, and her log ends with leaving it.
    await eventually(() => carols.rt.cursor.chats[group.id] === undefined, 5000, 'carol to forget the group');
    expect(carols.replica.chats.has(group.id)).toBe(false);

    // Same cursor everywhere for the chats both of Alice's devices share with Bob.
    for (const id of [priv.id, group.id, channel.id]) {
      const last = (await alice.client.getChat({ chatId: id })).lastSeq;
      await eventually(() => [laptop, phone, bobs].every((d) => d.rt.cursor.chats[id] === last), 5000, 'equal cursors');
    }
    for (const d of all) d.rt.close();
  });

  it('converges two sockets of one user that drop and come back in turn', async () => {
    const [dana, eve] = await t.users('dana', 'eve');
    const one = device(dana.client);
    const two = device(await secondDevice(dana, 'second'));
    const eves = device(eve.client);
    // Saved messages written before the devices first connect reach them too.
    const self = (await dana.client.listChats()).chats.find((c) => c.kind === 'self')!;
    await dana.client.sendMessage({ chatId: self.id, text: 'written before', clientMessageId: 'before' });
    await Promise.all([one, two, eves].map((d) => d.rt.connect()));
    const chat = await dana.client.createPrivateChat({ userId: eve.id });
    for (let round = 0; round < 4; round++) {
      const away = round % 2 === 0 ? one : two;
      const here = round % 2 === 0 ? two : one;
      away.rt.close();
      const m = await here.rt.send({ chatId: chat.id, text: `round ${round}` }).acked;
      await here.rt.send({ chatId: self.id, text: `note ${round}` }).acked;
      await eve.client.editMessage({
        chatId: chat.id,
        messageId: (await eves.rt.send({ chatId: chat.id, text: `eve ${round}` }).acked).id,
        text: `eve ${round} (edited)`,
      });
      if (round > 0) await dana.client.deleteMessage({ chatId: chat.id, messageId: m.id });
      await away.rt.connect();
      await converged([one, two, eves], [chat.id], eve.client);
      await converged([one, two], [self.id], dana.client);
    }
    for (const d of [one, two, eves]) {
      expectOrdered(d, chat.id);
      d.rt.close();
    }
    expectOrdered(one, self.id);
    expectOrdered(two, self.id);
  });
});
