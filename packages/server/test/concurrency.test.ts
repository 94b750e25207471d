import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient, type ChatEvent, type Message, type SyncEvent } from '@parley/sdk';
import { buildConfig } from '../src/config/config.ts';
import { createLogger } from '../src/logger.ts';
import { startServer, type RunningServer } from '../src/server.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { rawSocket } from './_ws.ts';

describe.each(await stores())('concurrency on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  /** Twenty users made once: password hashing is the slow part of making users. Each test takes its own. */
  let pool: TestUser[] = [];

  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_LOGIN_LIMIT: '1000/60s', PARLEY_MESSAGE_RATE: '1000/10s' });
    pool = await users(20, 'user');
  });
  afterAll(async () => t?.close());

  async function users(count: number, base: string): Promise<TestUser[]> {
    const out: TestUser[] = [];
    // A few at a time: password hashing is the slow part.
    for (let i = 0; i < count; i += 4) out.push(...(await Promise.all(Array.from({ length: Math.min(4, count - i) }, () => t.user(name(base))))));
    return out;
  }

  it('gives two users who open their private chat at the same instant one chat, every time', async () => {
    const people = pool.slice(0, 8);
    const pairs: [TestUser, TestUser][] = [];
    for (let i = 0; i < people.length; i++) for (let j = i + 1; j < people.length; j++) pairs.push([people[i]!, people[j]!]);
    // 28 pairs, all racing at once, each from both sides at once.
    const results = await Promise.all(
      pairs.map(([a, b]) => Promise.all([a.client.createPrivateChat({ userId: b.id }), b.client.createPrivateChat({ userId: a.id })])),
    );
    for (const [[a, b], [fromA, fromB]] of pairs.map((p, i) => [p, results[i]!] as const)) {
      expect(fromA.id, `${a.username} and ${b.username}`).toBe(fromB.id);
      expect(fromA.peer?.id).toBe(b.id);
      expect(fromB.peer?.id).toBe(a.id);
    }
    for (const p of people) {
      const privates = (await p.client.listChats()).chats.filter((c) => c.kind === 'private');
      expect(privates).toHaveLength(people.length - 1);
      expect(new Set(privates.map((c) => c.peer!.id)).size).toBe(people.length - 1);
      // Joined once per chat in the personal log too.
      const joined = (await p.client.getChanges({ userSeq: 0 })).events.filter((e) => e.type === 'chat.joined');
      expect(joined).toHaveLength(people.length - 1);
    }
    const rows = await t.server.ctx.db.kysely.selectFrom('chats').select('id').where('kind', '=', 'private').where('pair_key', 'is not', null).execute();
    expect(rows.length).toBeGreaterThanOrEqual(pairs.length);
    expect(new Set(results.map(([x]) => x.id)).size).toBe(pairs.length);
  });

  it('repeats the race many rounds for one pair', async () => {
    const [a, b] = pool.slice(8, 10);
    const seen = new Set<string>();
    for (let round = 0; round < 15; round++) {
      const [x, y] = await Promise.all([a!.client.createPrivateChat({ userId: b!.id }), b!.client.createPrivateChat({ userId: a!.id })]);
      expect(x.id).toBe(y.id);
      seen.add(x.id);
      // Deleting it for both lets the next round race for a brand new one.
      await a!.client.deleteChat({ chatId: x.id, forEveryone: true });
    }
    expect(seen.size).toBe(15);
  });

  it('gives 20 concurrent senders a gap-free sequence with no duplicates, read back exactly by a concurrent poller', async () => {
    const senders = pool;
    const owner = senders[0]!;
    const group = await owner.client.createGroup({ title: 'Crowd', memberIds: senders.slice(1).map((s) => s.id) });
    expect(group.memberCount).toBe(20);
    const reader = await owner.client.getChanges({ userSeq: 0 });

    // A second node on the same PostgreSQL store: writers on two nodes share one chat.
    let node2: RunningServer | undefined;
    if (kind === 'postgres') {
      node2 = await startServer(buildConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...t.store.env }), { log: createLogger('silent') });
    }
    const perSender = 8;
    let writing = true;
    const polled: SyncEvent[] = [];
    let cursor = { userSeq: reader.userSeq, chats: reader.chats };
    // Reads the log while it is being written: what it gets must still be exact.
    const poller = (async () => {
      for (;;) {
        const done = !writing;
        const page = await owner.client.getChanges({ userSeq: cursor.userSeq, chats: cursor.chats, limit: 7 });
        polled.push(...page.events);
        cursor = { userSeq: page.userSeq, chats: page.chats };
        if (done && !page.hasMore) return;
      }
    })();
    const sent = await Promise.all(
      senders.map(async (s, i) => {
        const client = node2 && i % 2 === 1 ? new ParleyClient({ baseUrl: node2.url, session: s.client.session }) : s.client;
        const mine: Message[] = [];
        await Promise.all(
          Array.from({ length: perSender }, async (_, k) => {
            mine.push(await client.sendMessage({ chatId: group.id, text: `${s.username} #${k}`, clientMessageId: `c${k}` }));
          }),
        );
        return mine;
      }),
    );
    writing = false;
    await poller;
    await node2?.close();

    const all = sent.flat();
    expect(all).toHaveLength(20 * perSender);
    expect(new Set(all.map((m) => m.id)).size).toBe(all.length);
    expect(new Set(all.map((m) => m.seq)).size).toBe(all.length);
    const last = (await owner.client.getChat({ chatId: group.id })).lastSeq;
    // Every position from the first message's to the last is a message: no gaps, nothing twice.
    const seqs = all.map((m) => m.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: all.length }, (_, i) => last - all.length + 1 + i));

    const listed: Message[] = [];
    let after = 0;
    for (;;) {
      const page = await owner.client.listMessages({ chatId: group.id, after, limit: 100 });
      listed.push(...page.messages);
      if (!page.hasMore) break;
      after = page.messages.at(-1)!.seq;
    }
    expect(listed.map((m) => m.seq)).toEqual(seqs);

    const chatLog = polled.filter((e): e is ChatEvent => e.log === 'chat' && e.chatId === group.id);
    expect(chatLog.map((e) => e.seq)).toEqual(Array.from({ length: last - reader.chats[group.id]! }, (_, i) => reader.chats[group.id]! + 1 + i));
    expect(
      chatLog
        .filter((e) => e.type === 'message.created')
        .map((e) => e.message!.id)
        .sort(),
    ).toEqual(all.map((m) => m.id).sort());
  });

  it('lets nothing from a member removed mid-burst land after the removal', async () => {
    const [owner, member] = pool.slice(10, 12);
    for (let round = 0; round < 3; round++) {
      const group = await owner!.client.createGroup({ title: 'Burst', memberIds: [member!.id] });
      const sends = Array.from({ length: 8 }, (_, i) =>
        member!.client.sendMessage({ chatId: group.id, text: `b${i}`, clientMessageId: `b${round}-${i}` }).catch((e) => e),
      );
      await new Promise((r) => setTimeout(r, 5 * round));
      await owner!.client.removeMember({ chatId: group.id, userId: member!.id });
      const outcomes = await Promise.all(sends);
      const log = (await owner!.client.getChanges({ userSeq: 0 })).events.filter((e): e is ChatEvent => e.log === 'chat' && e.chatId === group.id);
      const removedAt = log.find((e) => e.type === 'member.removed')!.seq;
      const late = log.filter((e) => e.type === 'message.created' && e.seq > removedAt);
      expect(late).toEqual([]);
      // Every send either landed before the removal or was refused as if the chat did not exist.
      for (const o of outcomes) {
        if (o instanceof Error) expect(o).toMatchObject({ status: 404, code: 'not_found' });
        else expect(o.seq).toBeLessThan(removedAt);
      }
    }
  });

  it('never duplicates a send retried with the same clientMessageId, over HTTP and the socket', async () => {
    const [me, other] = pool.slice(12, 14);
    const chat = await me!.client.createPrivateChat({ userId: other!.id });

    // Ten copies of one send at once, over HTTP.
    const copies = await Promise.all(Array.from({ length: 10 }, () => me!.client.sendMessage({ chatId: chat.id, text: 'once', clientMessageId: 'same-id' })));
    expect(new Set(copies.map((m) => m.id)).size).toBe(1);
    // A later retry returns the original, even if the text differs.
    const late = await me!.client.sendMessage({ chatId: chat.id, text: 'once, again', clientMessageId: 'same-id' });
    expect(late).toEqual(copies[0]);

    // Over two sockets of the same user and HTTP at once.
    const s1 = await rawSocket(t, me!);
    const s2 = await rawSocket(t, me!);
    const frame = { type: 'send', chatId: chat.id, text: 'via sockets', clientMessageId: 'ws-id' };
    const [a1, a2, a3, h] = await Promise.all([
      s1.request(frame),
      s2.request(frame),
      s1.request(frame),
      me!.client.sendMessage({ chatId: chat.id, text: 'via http', clientMessageId: 'ws-id' }),
    ]);
    // Whichever copy committed first is the message; every other copy answers with it.
    expect(['via sockets', 'via http']).toContain(h.text);
    for (const a of [a1, a2, a3]) expect(a).toEqual({ type: 'ack', id: expect.any(String), message: h });

    // A socket dropped right after sending: the retry on a new socket finds the original or makes it, once.
    const s3 = await rawSocket(t, me!);
    s3.send({ type: 'send', id: 'lost', chatId: chat.id, text: 'ack lost', clientMessageId: 'lost-ack' });
    s3.ws.terminate();
    const s4 = await rawSocket(t, me!);
    const retried = await s4.request({ type: 'send', chatId: chat.id, text: 'ack lost', clientMessageId: 'lost-ack' });
    expect(retried).toMatchObject({ type: 'ack', message: { clientMessageId: 'lost-ack' } });

    // The same id from another sender is another message.
    const theirs = await other!.client.sendMessage({ chatId: chat.id, text: 'mine', clientMessageId: 'same-id' });
    expect(theirs.id).not.toBe(copies[0]!.id);

    const { messages } = await other!.client.listMessages({ chatId: chat.id });
    expect(messages.map((m) => [m.senderId === me!.id ? 'me' : 'other', m.clientMessageId])).toEqual([
      ['me', 'same-id'],
      ['me', 'ws-id'],
      ['me', 'lost-ack'],
      ['other', 'same-id'],
    ]);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    // Only one message.created for each in the log.
    const log = await other!.client.getChanges({ userSeq: 0 });
    expect(log.events.filter((e) => e.type === 'message.created' && e.chatId === chat.id)).toHaveLength(4);
    for (const s of [s1, s2, s4]) s.close();
  });
  it('commits a burst of sends, in shared transactions on SQLite, where a failing send leaves no trace and holds back no other', async () => {
    const [owner, ...rest] = pool.slice(14, 19);
    const members = [owner!, ...rest.slice(0, 3)];
    const outsider = rest[3]!;
    const group = await owner!.client.createGroup({ title: 'Burst', memberIds: members.slice(1).map((m) => m.id) });
    const start = (await owner!.client.getChat({ chatId: group.id })).lastSeq;
    const sockets = await Promise.all(members.map((m) => rawSocket(t, m)));
    const stranger = await rawSocket(t, outsider);
    const before = await groupCommits();

    // One burst, interleaved: good sends, a non-member's, replies to a message that does not
    // exist, and retries of good sends. Only the good ones may take positions.
    const good: Promise<any>[] = [];
    const refused: Promise<any>[] = [];
    const retried: Promise<any>[] = [];
    for (let k = 0; k < 10; k++) {
      sockets.forEach((sock, i) => good.push(sock.request({ type: 'send', chatId: group.id, text: `m${i}-${k}`, clientMessageId: `g${i}-${k}` })));
      if (k % 2 === 0) {
        refused.push(stranger.request({ type: 'send', chatId: group.id, text: 'let me in', clientMessageId: `x${k}` }));
        refused.push(sockets[k % 4]!.request({ type: 'send', chatId: group.id, text: 'reply', clientMessageId: `r${k}`, replyToId: 'no-such-message' }));
        retried.push(sockets[1]!.request({ type: 'send', chatId: group.id, text: 'again', clientMessageId: `g1-${k}` }));
      }
    }
    const acks = await Promise.all(good);
    for (const a of acks) expect(a).toMatchObject({ type: 'ack' });
    const seqs = acks.map((a) => a.message.seq).sort((x: number, y: number) => x - y);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => start + 1 + i));
    const errors = (await Promise.all(refused)).map((f) => f.error?.code);
    expect(errors.filter((c) => c === 'not_found')).toHaveLength(5);
    expect(errors.filter((c) => c === 'invalid_request')).toHaveLength(5);
    // A retry answers with the original, whichever copy reached the store first.
    const byClientId = new Map(acks.map((a) => [a.message.clientMessageId, a.message.id]));
    for (const r of await Promise.all(retried)) expect(r.message.id).toBe(byClientId.get(r.message.clientMessageId));

    // The log holds exactly the 40 messages, at consecutive positions: nothing half-written.
    const log = (await owner!.client.getChanges({ userSeq: 0 })).events.filter(
      (e): e is ChatEvent => e.log === 'chat' && e.chatId === group.id && e.seq > start,
    );
    expect(log.map((e) => e.seq)).toEqual(seqs);
    expect(log.every((e) => e.type === 'message.created')).toBe(true);
    expect((await owner!.client.getChat({ chatId: group.id })).lastSeq).toBe(start + 40);
    // Every member's socket got each message once.
    for (const sock of sockets) {
      await sock.waitFor(() => sock.frames.filter((f) => f.type === 'event' && f.event.chatId === group.id && f.event.seq > start).length >= 40);
      const got = sock.frames.filter((f) => f.type === 'event' && f.event.chatId === group.id && f.event.seq > start).map((f) => f.event.seq);
      expect(new Set(got).size).toBe(got.length);
    }
    // On SQLite the burst shared transactions: fewer commits than sends. (PostgreSQL commits each
    // send on its own, several at once over its pool.)
    const after = await groupCommits();
    if (kind === 'sqlite') {
      const units = after.units - before.units;
      expect(units).toBe(55);
      expect(after.commits - before.commits).toBeLessThan(units);
    } else expect(after).toEqual(before);
    for (const sock of [...sockets, stranger]) sock.close();
  });

  async function groupCommits(): Promise<{ commits: number; units: number }> {
    const { values } = await t.server.ctx.metrics.groupCommitUnits.get();
    const value = (suffix: string) => values.find((v) => v.metricName === `parley_store_group_commit_units_${suffix}`)?.value ?? 0;
    return { commits: value('count'), units: value('sum') };
  }
});

describe.each(await stores())('retries and the rate limit on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_MESSAGE_RATE: '3/60s' });
  });
  afterAll(async () => t?.close());

  it('does not count a retry against the rate limit', async () => {
    const me = await t.user('retrier');
    const self = (await me.client.listChats()).chats[0]!;
    const first = await me.client.sendMessage({ chatId: self.id, text: 'one', clientMessageId: 'r1' });
    await me.client.sendMessage({ chatId: self.id, text: 'two', clientMessageId: 'r2' });
    await me.client.sendMessage({ chatId: self.id, text: 'three', clientMessageId: 'r3' });
    for (let i = 0; i < 5; i++) expect(await me.client.sendMessage({ chatId: self.id, text: 'one', clientMessageId: 'r1' })).toEqual(first);
    const over = await me.client.sendMessage({ chatId: self.id, text: 'four', clientMessageId: 'r4' }).catch((e) => e);
    expect(over).toMatchObject({ status: 429, code: 'rate_limited' });
    expect((await me.client.listMessages({ chatId: self.id })).messages).toHaveLength(3);
  });
});
