import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ParleyRealtime, type Chat, type ChatEvent, type SyncCursor, type SyncEvent, type UserEvent, type WebSocketFactory } from '@parley/sdk';
import type { Bus } from '../src/adapters/bus/bus.ts';
import { InProcessBus } from '../src/adapters/bus/in-process-bus.ts';
import type { BusTopics, Delivery, Topic } from '../src/adapters/bus/topics.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { eventually, realtimeFor } from './_realtime.ts';
import { rawSocket } from './_ws.ts';
import { allMessages, catchUp, ofChat, range, Replica } from './_sync.ts';

/** An in-process bus that loses the deliveries `drop` picks, as a flaky network between nodes would. */
class LossyBus extends InProcessBus implements Bus {
  drop: (d: Delivery) => boolean = () => false;
  dropped: Delivery[] = [];
  override publish<T extends Topic>(topic: T, message: BusTopics[T]): void {
    if (topic === 'deliver' && this.drop(message as Delivery)) {
      this.dropped.push(message as Delivery);
      return;
    }
    super.publish(topic, message);
  }
}

function eventOf(d: Delivery): ChatEvent | UserEvent | undefined {
  return 'event' in d ? d.event : undefined;
}

/** Runs tasks with at most `width` at a time, in order within each lane. */
async function lanes(width: number, tasks: (() => Promise<unknown>)[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) await tasks[next++]!();
    }),
  );
}

/** Events grouped by log and sorted by position in each: the order a client applying the protocol's rules ends up with. */
function inPositionOrder(events: SyncEvent[]): SyncEvent[] {
  const position = (e: SyncEvent) => (e.log === 'chat' ? e.seq : e.userSeq);
  const log = (e: SyncEvent) => (e.log === 'chat' ? `chat:${e.chatId}` : 'user');
  return [...events].sort((a, b) => log(a).localeCompare(log(b)) || position(a) - position(b));
}

describe.each(await stores())('sync on %s', (kind) => {
  let t: TestServer;
  let bus: LossyBus;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;

  beforeAll(async () => {
    bus = new LossyBus();
    t = await startTestServer(
      kind,
      { PARLEY_MESSAGE_RATE: '100000/10s', PARLEY_WRITE_RATE: '100000/10s', PARLEY_READ_RATE: '100000/10s', PARLEY_LOGIN_LIMIT: '1000/60s' },
      { bus },
    );
  });
  afterAll(async () => t?.close());

  describe('a device offline through 1000 changes', () => {
    let me: TestUser;
    let leaving: Chat;
    let joined: Chat;
    let group: Chat;
    /** The chats the device stays in throughout. */
    let chats: Chat[];
    let initial: Awaited<ReturnType<typeof catchUp>>;
    let lastSeq: Record<string, number>;
    /** What a live socket of the same user received meanwhile, in position order. */
    let liveEvents: SyncEvent[];
    /** The device catching up from its cursor with no page limit, then pages of 97 and of 5000. */
    let runs: { limit: number | undefined; events: SyncEvent[]; cursor: SyncCursor; pages: number }[];

    beforeAll(async () => {
      let alice: TestUser, bob: TestUser, carol: TestUser;
      [me, alice, bob, carol] = await t.users(name('me'), name('alice'), name('bob'), name('carol'));
      // A second device of mine keeps working while the first is offline.
      const phone = t.client();
      await phone.login({ username: me.username, password: me.password, deviceName: 'phone' });

      const priv = await alice.client.createPrivateChat({ userId: me.id });
      group = await alice.client.createGroup({ title: 'Group', memberIds: [me.id, bob.id] });
      const channel = await alice.client.createChannel({ title: 'Channel', memberIds: [me.id] });
      leaving = await bob.client.createGroup({ title: 'Soon without me', memberIds: [me.id] });
      const self = (await me.client.listChats()).chats.find((c) => c.kind === 'self')!;
      await alice.client.sendMessage({ chatId: priv.id, text: 'before', clientMessageId: 'before' });

      // The device syncs, keeps its cursor and a live socket of the same user records what happens.
      initial = await catchUp(me.client, { userSeq: 0, chats: {} });
      const live = await rawSocket(t, { client: phone });

      // 1000+ changes while the device is away: sends, edits, deletes, member changes, reads, joins and leaves.
      const send = (u: TestUser | { client: typeof phone }, chatId: string, i: number, tag: string) =>
        u.client.sendMessage({ chatId, text: `${tag} ${i} ✓`, clientMessageId: `${tag}-${i}` });
      const privTasks: (() => Promise<unknown>)[] = [];
      for (let i = 0; i < 290; i++) {
        privTasks.push(async () => {
          const m = await send(i % 3 === 0 ? { client: phone } : alice, priv.id, i, 'p');
          if (i % 5 === 0) await (i % 3 === 0 ? phone : alice.client).editMessage({ chatId: priv.id, messageId: m.id, text: `p ${i} edited` });
          if (i % 7 === 0) await (i % 3 === 0 ? phone : alice.client).deleteMessage({ chatId: priv.id, messageId: m.id });
        });
      }
      const groupTasks: (() => Promise<unknown>)[] = [];
      for (let i = 0; i < 260; i++) {
        groupTasks.push(async () => {
          const m = await send(i % 2 ? bob : alice, group.id, i, 'g');
          if (i % 6 === 0) await (i % 2 ? bob : alice).client.editMessage({ chatId: group.id, messageId: m.id, text: `g ${i} edited` });
          // The owner deletes others' messages too.
          if (i % 8 === 0) await alice.client.deleteMessage({ chatId: group.id, messageId: m.id });
          if (i % 50 === 0) await phone.markRead({ chatId: group.id, seq: m.seq });
        });
      }
      const memberTasks: (() => Promise<unknown>)[] = [];
      for (let i = 0; i < 7; i++) {
        memberTasks.push(async () => {
          await alice.client.addMembers({ chatId: group.id, userIds: [carol.id] });
          await alice.client.setMemberRole({ chatId: group.id, userId: carol.id, role: 'admin' });
          await alice.client.removeMember({ chatId: group.id, userId: carol.id });
        });
      }
      const otherTasks: (() => Promise<unknown>)[] = [];
      for (let i = 0; i < 120; i++) {
        otherTasks.push(async () => {
          const m = await send(alice, channel.id, i, 'c');
          if (i % 10 === 0) await alice.client.deleteMessage({ chatId: channel.id, messageId: m.id });
          await send({ client: phone }, self.id, i, 's');
          if (i === 30) await phone.updateChat({ chatId: priv.id, muted: true });
          if (i === 60) await bob.client.removeMember({ chatId: leaving.id, userId: me.id });
        });
      }
      // Several writers at once in each chat, as in real use.
      await Promise.all([lanes(3, privTasks), lanes(3, groupTasks), lanes(1, memberTasks), lanes(2, otherTasks)]);
      // A chat that begins while the device is away.
      joined = await carol.client.createGroup({ title: 'New while away', memberIds: [me.id] });
      await lanes(
        4,
        Array.from({ length: 20 }, (_, i) => () => send(carol, joined.id, i, 'j')),
      );
      await phone.markRead({ chatId: priv.id, seq: 1_000_000 });

      chats = [priv, group, channel, self, joined];
      lastSeq = Object.fromEntries(await Promise.all(chats.map(async (c) => [c.id, (await me.client.getChat({ chatId: c.id })).lastSeq] as const)));
      // Wait until the live device has everything, to compare with.
      // Live events of concurrent transactions may arrive in another order than their positions (a
      // client fetches what it has not seen yet, see docs/protocol.md); put them in position order.
      const arrived = (): SyncEvent[] => live.frames.filter((f) => f.type === 'event').map((f) => f.event);
      await eventually(() => chats.every((c) => ofChat(arrived(), c.id).some((e) => e.seq === lastSeq[c.id])), 20_000, 'the live device');
      liveEvents = inPositionOrder(arrived());
      live.close();

      runs = [];
      for (const limit of [undefined, 97, 5000]) runs.push({ limit, ...(await catchUp(me.client, initial.cursor, limit)) });
    }, 180_000);

    it('hands over the 1000 changes in pages no larger than asked', () => {
      for (const { limit, events, pages } of runs) {
        expect(events.length).toBeGreaterThanOrEqual(1000);
        if (limit) expect(pages).toBeGreaterThanOrEqual(Math.ceil(events.length / limit));
      }
    });

    it('hands over every personal-log position after the cursor once, in order, as the live device saw it', () => {
      for (const { events, cursor } of runs) {
        const mine = events.filter((e): e is UserEvent => e.log === 'user');
        expect(mine.map((e) => e.userSeq)).toEqual(range(initial.cursor.userSeq, cursor.userSeq));
        expect(mine).toEqual(liveEvents.filter((e) => e.log === 'user'));
        expect(mine.map((e) => e.type)).toEqual(expect.arrayContaining(['chat.read', 'chat.muted', 'chat.left', 'chat.joined']));
      }
    });

    it('hands over every position of each chat after the cursor, or after joining, once and in order', () => {
      for (const { events, cursor } of runs) {
        for (const c of chats) {
          const from = c.id === joined.id ? 0 : initial.cursor.chats[c.id]!;
          const got = ofChat(events, c.id);
          expect(
            got.map((e) => e.seq),
            c.title,
          ).toEqual(range(from, lastSeq[c.id]!));
          expect(got.map((e) => [e.seq, e.type, e.message?.id ?? null])).toEqual(
            ofChat(liveEvents, c.id)
              .filter((e) => e.seq > from)
              .map((e) => [e.seq, e.type, e.message?.id ?? null]),
          );
          expect(cursor.chats[c.id]).toBe(lastSeq[c.id]);
        }
      }
    });

    it('hands over nothing of a chat I was removed from after my removal, and drops it from the cursor', () => {
      for (const { events, cursor } of runs) {
        expect(cursor.chats[leaving.id]).toBeUndefined();
        expect(events.filter((e) => e.log === 'chat' && e.chatId === leaving.id)).toEqual([]);
      }
    });

    it('hands over the member changes', () => {
      for (const { events } of runs) {
        expect(
          ofChat(events, group.id)
            .filter((e) => e.type.startsWith('member.'))
            .map((e) => e.type),
        ).toEqual(Array.from({ length: 7 }, () => ['member.added', 'member.updated', 'member.removed']).flat());
      }
    });

    it('hands over the same chat events whatever the page size', () => {
      const [reference, ...others] = runs;
      for (const { events } of others) expect(events.filter((e) => e.log === 'chat')).toEqual(reference!.events.filter((e) => e.log === 'chat'));
    });

    it('leaves the device, applying what it received, with exactly what the server has', async () => {
      const replica = new Replica();
      replica.apply(initial.events);
      replica.apply(runs[0]!.events);
      for (const c of chats) expect(replica.messages(c.id), c.title).toEqual(await allMessages(me.client, c.id));
      expect(replica.chats.has(leaving.id)).toBe(false);
    });
  });

  describe('a long personal log with a chat left and joined again inside it', () => {
    let me: TestUser;
    let group: Chat;
    let start: Awaited<ReturnType<typeof catchUp>>;
    let whole: Awaited<ReturnType<typeof catchUp>>;

    beforeAll(async () => {
      let owner: TestUser;
      [me, owner] = await t.users(name('pgme'), name('pgowner'));
      group = await owner.client.createGroup({ title: 'In and out', memberIds: [me.id] });
      const other = await owner.client.createPrivateChat({ userId: me.id });
      await owner.client.sendMessage({ chatId: group.id, text: 'before', clientMessageId: 'b' });
      start = await catchUp(me.client, { userSeq: 0, chats: {} });

      // While away: messages, a long run of personal events, then out of the group and back in.
      for (let i = 0; i < 4; i++) await owner.client.sendMessage({ chatId: group.id, text: `while away ${i}`, clientMessageId: `a${i}` });
      for (let i = 0; i < 12; i++) await me.client.updateChat({ chatId: other.id, muted: i % 2 === 0 });
      await owner.client.removeMember({ chatId: group.id, userId: me.id });
      await owner.client.sendMessage({ chatId: group.id, text: 'not for me', clientMessageId: 'x' });
      await owner.client.addMembers({ chatId: group.id, userIds: [me.id] });
      for (let i = 0; i < 3; i++) await owner.client.sendMessage({ chatId: group.id, text: `back ${i}`, clientMessageId: `c${i}` });

      whole = await catchUp(me.client, start.cursor);
    });

    it('pages through each personal-log position once, whatever the page size', async () => {
      for (const limit of [1, 4, 5, 13]) {
        const { events, cursor } = await catchUp(me.client, start.cursor, limit);
        const mine = events.filter((e): e is UserEvent => e.log === 'user');
        expect(mine.map((e) => e.userSeq)).toEqual(range(start.cursor.userSeq, cursor.userSeq));
        expect(cursor).toEqual(whole.cursor);
      }
    });

    it('pages through each position of the group once, in order, whatever the page size', async () => {
      for (const limit of [1, 4, 5, 13]) {
        const { events } = await catchUp(me.client, start.cursor, limit);
        const seqs = ofChat(events, group.id).map((e) => e.seq);
        expect(new Set(seqs).size, `limit ${limit}: nothing twice`).toBe(seqs.length);
        expect(seqs).toEqual(ofChat(whole.events, group.id).map((e) => e.seq));
      }
    });

    it('hands over nothing of the group from while I was out of it', async () => {
      expect(ofChat(whole.events, group.id).some((e) => e.message?.text === 'not for me')).toBe(false);
      for (const limit of [1, 4, 5, 13]) {
        const { events } = await catchUp(me.client, start.cursor, limit);
        const replica = new Replica();
        replica.apply(start.events);
        replica.apply(events);
        expect(replica.messages(group.id).map((m) => m.text)).toEqual(['back 0', 'back 1', 'back 2']);
      }
    });

    it('lets the realtime client resume from the same cursor in small pages, applying each event once', async () => {
      for (const syncPageSize of [3, 5]) {
        const rt = new ParleyRealtime(me.client, { WebSocket: WebSocket as unknown as WebSocketFactory, cursor: start.cursor, syncPageSize });
        const got: SyncEvent[] = [];
        rt.on('event', (e) => got.push(e));
        await rt.connect();
        rt.close();
        expect(got.filter((e) => e.log === 'user')).toEqual(whole.events.filter((e) => e.log === 'user'));
        expect(
          ofChat(got, group.id).map((e) => e.seq),
          `pages of ${syncPageSize}`,
        ).toEqual(ofChat(whole.events, group.id).map((e) => e.seq));
        expect(rt.cursor).toEqual(whole.cursor);
      }
    });
  });

  it('does not hand the history of a chat deleted for me to a new device', async () => {
    const [me, peer] = await t.users(name('hdme'), name('hdpeer'));
    const chat = await peer.client.createPrivateChat({ userId: me.id });
    await peer.client.sendMessage({ chatId: chat.id, text: 'old', clientMessageId: 'o' });
    await me.client.deleteChat({ chatId: chat.id });
    const fresh = await catchUp(me.client, { userSeq: 0, chats: {} });
    expect(ofChat(fresh.events, chat.id)).toEqual([]);
    const m = await peer.client.sendMessage({ chatId: chat.id, text: 'new', clientMessageId: 'n' });
    const later = await catchUp(me.client, fresh.cursor);
    expect(ofChat(later.events, chat.id).map((e) => e.message?.id)).toEqual([m.id]);
    const replica = new Replica();
    replica.apply([...fresh.events, ...later.events]);
    expect(replica.messages(chat.id)).toEqual(await allMessages(me.client, chat.id));
  });

  describe('a realtime client connecting again and again while changes happen', () => {
    let me: TestUser;
    let self: Chat;
    let priv: Chat;
    const groups: string[] = [];
    /** The last position of each chat once the writing stopped. */
    let finals: Record<string, number>;
    let events: SyncEvent[];

    beforeAll(async () => {
      let alice: TestUser;
      [me, alice] = await t.users(name('rcme'), name('rcalice'));
      const phone = t.client();
      await phone.login({ username: me.username, password: me.password, deviceName: 'phone' });
      self = (await me.client.listChats()).chats.find((c) => c.kind === 'self')!;
      priv = await alice.client.createPrivateChat({ userId: me.id });
      await phone.sendMessage({ chatId: self.id, text: 'saved before', clientMessageId: 'sb' });

      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          await alice.client.sendMessage({ chatId: priv.id, text: `w${i}`, clientMessageId: `w${i}` });
          if (i % 4 === 0) await phone.sendMessage({ chatId: self.id, text: `s${i}`, clientMessageId: `s${i}` });
          if (i % 6 === 0) {
            // New chats appear while connecting, with traffic right away.
            const g = await alice.client.createGroup({ title: `g${i}`, memberIds: [me.id] });
            groups.push(g.id);
            await alice.client.sendMessage({ chatId: g.id, text: 'first', clientMessageId: 'first' });
          }
        }
      })();

      const realtime = realtimeFor(me);
      const { rt } = realtime;
      events = realtime.events;
      for (let round = 0; round < 8; round++) {
        await rt.connect();
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
        rt.close();
        await new Promise((r) => setTimeout(r, Math.random() * 40));
      }
      writing = false;
      await writer;
      await rt.connect();
      finals = Object.fromEntries(
        await Promise.all([self.id, priv.id, ...groups].map(async (id) => [id, (await me.client.getChat({ chatId: id })).lastSeq] as const)),
      );
      await eventually(() => Object.entries(finals).every(([id, seq]) => rt.cursor.chats[id] === seq), 10_000, 'the realtime client to converge');
      rt.close();
    });

    it('gets every personal-log position once, in order', () => {
      expect(groups.length).toBeGreaterThan(0);
      const users = events.filter((e): e is UserEvent => e.log === 'user');
      expect(users.map((e) => e.userSeq)).toEqual(range(0, users.length));
    });

    it('gets every position of each chat once, in order, from its start or from joining', () => {
      const users = events.filter((e): e is UserEvent => e.log === 'user');
      for (const [id, last] of Object.entries(finals)) {
        const got = ofChat(events, id).map((e) => e.seq);
        // Saved messages and the private chat from their start; groups from the position I joined at.
        const joinedAt = users.find((e) => e.type === 'chat.joined' && e.chatId === id)?.seq ?? 0;
        expect(got, id === self.id ? 'saved messages' : id === priv.id ? 'private chat' : 'a group').toEqual(range(joinedAt, last));
      }
    });

    it('ends, applying what it got, with exactly what the server has', async () => {
      const replica = new Replica();
      replica.apply(events);
      for (const id of Object.keys(finals)) expect(replica.messages(id)).toEqual(await allMessages(me.client, id));
    });
  });

  describe('after a lost delivery', () => {
    /** Two new people, Alice's private chat with me, and my realtime client, online. */
    async function online() {
      const [me, alice] = await t.users(name('gapme'), name('gapalice'));
      const chat = await alice.client.createPrivateChat({ userId: me.id });
      const { rt, events } = realtimeFor(me);
      await rt.connect();
      const first = await alice.client.sendMessage({ chatId: chat.id, text: 'one', clientMessageId: 'g1' });
      await eventually(() => rt.cursor.chats[chat.id] === first.seq, 5000, 'the first message');
      return { me, alice, chat, rt, events, first };
    }

    it('fetches a lost chat event as soon as the next one shows the gap', async () => {
      const { me, alice, chat, rt, events, first } = await online();
      let synced = 0;
      rt.on('synced', () => synced++);
      bus.dropped = [];
      bus.drop = (d) => d.userIds.includes(me.id) && eventOf(d)?.log === 'chat';
      const lost = await alice.client.sendMessage({ chatId: chat.id, text: 'two (lost)', clientMessageId: 'g2' });
      await eventually(() => bus.dropped.length > 0, 5000, 'the drop');
      bus.drop = () => false;
      expect(rt.cursor.chats[chat.id]).toBe(first.seq);
      const third = await alice.client.sendMessage({ chatId: chat.id, text: 'three', clientMessageId: 'g3' });
      await eventually(() => rt.cursor.chats[chat.id] === third.seq, 5000, 'the gap to be filled');
      expect(synced).toBeGreaterThan(0);
      expect(ofChat(events, chat.id).map((e) => e.message?.text)).toEqual(['one', 'two (lost)', 'three']);
      expect(ofChat(events, chat.id).map((e) => e.seq)).toEqual([first.seq, lost.seq, third.seq]);
      rt.close();
    });

    it('fetches a lost personal event (added to a group) as soon as the next one shows the gap', async () => {
      const { me, alice, chat, rt, events } = await online();
      bus.dropped = [];
      bus.drop = (d) => d.userIds.includes(me.id) && eventOf(d)?.log === 'user';
      const group = await alice.client.createGroup({ title: 'Lost invite', memberIds: [me.id] });
      await eventually(() => bus.dropped.length > 0, 5000, 'the drop');
      bus.drop = () => false;
      await alice.client.sendMessage({ chatId: group.id, text: 'in the group', clientMessageId: 'g4' });
      await me.client.updateChat({ chatId: chat.id, muted: true });
      await eventually(() => events.some((e) => e.log === 'chat' && e.chatId === group.id && e.message?.text === 'in the group'), 5000, 'the group message');
      await eventually(() => events.some((e) => e.type === 'chat.muted'), 5000, 'the mute');
      const mine = events.filter((e): e is UserEvent => e.log === 'user');
      expect(mine.map((e) => e.userSeq)).toEqual(range(0, mine.length));
      expect(mine.some((e) => e.type === 'chat.joined' && e.chatId === group.id)).toBe(true);
      rt.close();
    });

    it('fetches a lost last event at the next connection at the latest', async () => {
      const { me, alice, chat, rt, events } = await online();
      bus.drop = (d) => d.userIds.includes(me.id);
      const tail = await alice.client.sendMessage({ chatId: chat.id, text: 'last, lost', clientMessageId: 'g5' });
      await new Promise((r) => setTimeout(r, 100));
      bus.drop = () => false;
      expect(rt.cursor.chats[chat.id]).toBe(tail.seq - 1);
      rt.close();
      await rt.connect();
      expect(rt.cursor.chats[chat.id]).toBe(tail.seq);
      expect(ofChat(events, chat.id).map((e) => e.seq)).toEqual(range(0, tail.seq));
      expect(ofChat(events, chat.id).at(-1)?.message?.text).toBe('last, lost');
      rt.close();
    });
  });
});
