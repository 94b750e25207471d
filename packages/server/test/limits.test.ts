import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient } from '@parley/sdk';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { rawSocket } from './_ws.ts';

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e,
  );

/** What a user can see of their chats and one chat's content; equal before and after a refused call means nothing was written. */
async function footprint(client: ParleyClient, chatId?: string) {
  const chats = (await client.listChats()).chats.map((c) => [c.id, c.lastSeq, c.memberCount]);
  const log = await client.getChanges({ userSeq: 0, limit: 5000 });
  const content = chatId ? (await client.listMessages({ chatId, limit: 100 })).messages : [];
  return { chats, userSeq: log.userSeq, cursor: log.chats, content };
}

describe.each(await stores())('limits on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;

  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_LOGIN_LIMIT: '1000/60s' });
  });
  afterAll(async () => t?.close());

  /** Registers users without signing them in: only their ids are needed. */
  async function accounts(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 5) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(5, count - i) }, async () => {
          const me = await t.client().register({ inviteCode: await t.invite(), username: name('acct'), password: 'account password', displayName: 'Acct' });
          return me.id;
        }),
      );
      ids.push(...batch);
    }
    return ids;
  }

  describe('the message length limit of 4096 code points', () => {
    /** A new user's saved messages, with a message of 4096 astral code points in it. */
    async function writer() {
      const u = await t.user(name('writer'));
      const self = (await u.client.listChats()).chats[0]!;
      const astral = '😀'.repeat(4096);
      const ok = await u.client.sendMessage({ chatId: self.id, text: astral, clientMessageId: 'astral' });
      return { u, self, astral, ok };
    }

    it('accepts 4096 code points, astral ones included', async () => {
      const { astral, ok } = await writer();
      expect(astral.length).toBe(8192);
      expect([...ok.text!]).toHaveLength(4096);
      expect(ok.text).toBe(astral);
    });

    it('refuses 4097 code points over HTTP and the socket, and writes nothing', async () => {
      const { u, self } = await writer();
      const before = await footprint(u.client, self.id);
      for (const text of ['a'.repeat(4097), '😀'.repeat(4097), `${'😀'.repeat(4096)}a`]) {
        const err = await fail(u.client.sendMessage({ chatId: self.id, text, clientMessageId: 'too-long' }));
        expect(err).toMatchObject({ status: 400, code: 'message_too_long' });
        expect(err.message).toContain('4096');
      }
      const s = await rawSocket(t, u);
      expect(await s.request({ type: 'send', chatId: self.id, text: 'b'.repeat(4097), clientMessageId: 'too-long-ws' })).toMatchObject({
        type: 'error',
        error: { code: 'message_too_long' },
      });
      s.close();
      expect(await footprint(u.client, self.id)).toEqual(before);
    });

    it('holds edits to the same rule, and the message stays as it was', async () => {
      const { u, self, ok } = await writer();
      const before = await footprint(u.client, self.id);
      expect(await fail(u.client.editMessage({ chatId: self.id, messageId: ok.id, text: 'c'.repeat(4097) }))).toMatchObject({
        status: 400,
        code: 'message_too_long',
      });
      expect(await footprint(u.client, self.id)).toEqual(before);
    });

    it('refuses blank text, and writes nothing', async () => {
      const { u, self } = await writer();
      const before = await footprint(u.client, self.id);
      expect(await fail(u.client.sendMessage({ chatId: self.id, text: ' \n\t ', clientMessageId: 'blank' }))).toMatchObject({
        status: 400,
        code: 'invalid_request',
      });
      expect(await footprint(u.client, self.id)).toEqual(before);
    });

    it('leaves the client message id of a refused message free', async () => {
      const { u, self } = await writer();
      await fail(u.client.sendMessage({ chatId: self.id, text: 'a'.repeat(4097), clientMessageId: 'too-long' }));
      expect((await u.client.sendMessage({ chatId: self.id, text: 'short', clientMessageId: 'too-long' })).text).toBe('short');
    });
  });

  it('stores text in NFC and counts code points after normalising', async () => {
    const u = await t.user(name('nfc'));
    const self = (await u.client.listChats()).chats[0]!;
    const decomposed = 'Cafe\u0301 \u212B';
    const m = await u.client.sendMessage({ chatId: self.id, text: decomposed, clientMessageId: 'nfc' });
    expect(m.text).toBe('Caf\u00e9 \u00c5');
    expect(m.text).toBe(decomposed.normalize('NFC'));
    // 4097 code points as sent, 4096 once composed: accepted.
    const edge = `${'a'.repeat(4095)}e\u0301`;
    expect([...edge]).toHaveLength(4097);
    const long = await u.client.sendMessage({ chatId: self.id, text: edge, clientMessageId: 'edge' });
    expect([...long.text!]).toHaveLength(4096);
    expect(long.text!.endsWith('\u00e9')).toBe(true);
    const edited = await u.client.editMessage({ chatId: self.id, messageId: m.id, text: 'n\u0303' });
    expect(edited.text).toBe('\u00f1');
    expect((await u.client.listMessages({ chatId: self.id })).messages.map((x) => x.text)).toEqual(['\u00f1', long.text]);
  });

  describe('the group member limit of 20', () => {
    let owner: TestUser;
    let ids: string[];
    beforeAll(async () => {
      owner = await t.user(name('gowner'));
      ids = await accounts(26);
    });

    it('refuses a group created with 21 members, and writes nothing', async () => {
      const creator = await t.user(name('gcreator'));
      const over = await fail(creator.client.createGroup({ title: 'Too many', memberIds: ids.slice(0, 20) }));
      expect(over).toMatchObject({ status: 409, code: 'member_limit_reached' });
      expect(over.message).toContain('20');
      expect((await creator.client.listChats()).chats).toHaveLength(1);
    });

    it('refuses a 21st member added, and writes nothing', async () => {
      const group = await owner.client.createGroup({ title: 'Twenty', memberIds: ids.slice(0, 19) });
      expect(group.memberCount).toBe(20);
      const before = await footprint(owner.client, group.id);
      expect(await fail(owner.client.addMembers({ chatId: group.id, userIds: [ids[19]!] }))).toMatchObject({ status: 409, code: 'member_limit_reached' });
      expect(await footprint(owner.client, group.id)).toEqual(before);
      expect((await owner.client.listMembers({ chatId: group.id })).members).toHaveLength(20);
    });

    it('lets exactly five of six racing adds into a group of fifteen', async () => {
      const racing = await owner.client.createGroup({ title: 'Race', memberIds: ids.slice(0, 14) });
      const results = await Promise.all(
        ids.slice(20, 26).map((id) =>
          owner.client.addMembers({ chatId: racing.id, userIds: [id] }).then(
            () => 'in',
            (e) => e.code,
          ),
        ),
      );
      expect(results.filter((r) => r === 'in')).toHaveLength(5);
      expect(results.filter((r) => r === 'member_limit_reached')).toHaveLength(1);
      expect((await owner.client.listMembers({ chatId: racing.id })).members).toHaveLength(20);
      expect((await owner.client.getChat({ chatId: racing.id })).memberCount).toBe(20);
    });
  });

  it('refuses the 31st message in 10 seconds with 429 and Retry-After, over HTTP and the socket; nothing is written', async () => {
    const u = await t.user(name('chatty'));
    const other = await t.user(name('quiet'));
    const chat = await u.client.createPrivateChat({ userId: other.id });
    // A burst of 30 at once is fine.
    await Promise.all(Array.from({ length: 30 }, (_, i) => u.client.sendMessage({ chatId: chat.id, text: `m${i}`, clientMessageId: `m${i}` })));
    const before = await footprint(other.client, chat.id);
    const res = await fetch(`${t.url}/api/v1/chats/${chat.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${u.client.session!.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'one too many', clientMessageId: 'm30' }),
    });
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(await res.json()).toMatchObject({ error: { code: 'rate_limited', message: expect.stringContaining(String(retryAfter)) } });
    const viaSdk = await fail(u.client.sendMessage({ chatId: chat.id, text: 'still too many', clientMessageId: 'm31' }));
    expect(viaSdk).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(viaSdk.retryAfter).toBeGreaterThanOrEqual(1);
    const s = await rawSocket(t, u);
    expect(await s.request({ type: 'send', chatId: chat.id, text: 'and again', clientMessageId: 'm32' })).toMatchObject({
      type: 'error',
      error: { code: 'rate_limited' },
    });
    s.close();
    expect(await footprint(other.client, chat.id)).toEqual(before);
    expect((await other.client.listMessages({ chatId: chat.id })).messages).toHaveLength(30);
    // The limit is per user: the other side still talks.
    await other.client.sendMessage({ chatId: chat.id, text: 'my turn', clientMessageId: 'o1' });
  });
});

describe.each(await stores())('chat limit on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    // Saved messages count: a user is in at most 4 chats.
    t = await startTestServer(kind, {
      PARLEY_MAX_CHATS_PER_USER: '4',
      PARLEY_MAX_CHANNEL_SUBSCRIBERS: '3',
      PARLEY_MESSAGE_RATE: '2/2s',
      PARLEY_LOGIN_LIMIT: '1000/60s',
    });
  });
  afterAll(async () => t?.close());

  describe('a user in as many chats as allowed', () => {
    let n = 0;
    /** A user in 4 chats (saved messages, a private chat with A, a group, B's channel) and two people, C and D, outside them. */
    async function full() {
      n += 1;
      const [me, a, b, c, d] = await t.users(`full${n}`, `aaa${n}`, `bbb${n}`, `ccc${n}`, `ddd${n}`);
      const pa = await me.client.createPrivateChat({ userId: a.id });
      await me.client.createGroup({ title: 'Two' });
      await b.client.createChannel({ title: 'Three', memberIds: [me.id] });
      expect((await me.client.listChats()).chats).toHaveLength(4);
      return { me, a, c, d, pa };
    }

    it('is refused one chat more, however it would come, and nothing is written', async () => {
      const { me, c, d } = await full();
      const before = await footprint(me.client);
      const others = await Promise.all([c, d].map((u) => footprint(u.client)));
      const refusals = [
        () => me.client.createGroup({ title: 'Five' }),
        () => me.client.createChannel({ title: 'Five' }),
        () => me.client.createPrivateChat({ userId: c.id }),
        () => c.client.createPrivateChat({ userId: me.id }),
        () => c.client.createGroup({ title: 'With full', memberIds: [d.id, me.id] }),
        () => c.client.createGroup({ title: 'Empty' }).then((g) => c.client.addMembers({ chatId: g.id, userIds: [me.id] })),
      ];
      for (const r of refusals) {
        const err = await fail(r());
        expect(err).toMatchObject({ status: 409, code: 'chat_limit_reached' });
        expect(err.message).toContain('4');
      }
      expect(await footprint(me.client)).toEqual(before);
      expect((await d.client.listChats()).chats).toHaveLength(1);
      expect(await footprint(d.client)).toEqual(others[1]);
    });

    it('may open a private chat that exists, from either side: it is not a new chat', async () => {
      const { me, a, pa } = await full();
      expect((await me.client.createPrivateChat({ userId: a.id })).id).toBe(pa.id);
      expect((await a.client.createPrivateChat({ userId: me.id })).id).toBe(pa.id);
    });

    it('gets room for one chat by leaving one', async () => {
      const { me } = await full();
      await me.client.leaveChat({ chatId: (await me.client.listChats()).chats.find((x) => x.kind === 'channel')!.id });
      await me.client.createGroup({ title: 'Four again' });
      expect(await fail(me.client.createGroup({ title: 'Five again' }))).toMatchObject({ code: 'chat_limit_reached' });
    });
  });

  it('holds the limit when chats are created at the same instant', async () => {
    const u = await t.user('racer');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        u.client.createGroup({ title: `g${i}` }).then(
          () => 'ok',
          (e) => e.code,
        ),
      ),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(3);
    expect(results.filter((r) => r === 'chat_limit_reached')).toHaveLength(3);
    expect((await u.client.listChats()).chats).toHaveLength(4);
  });

  it('holds channels to their own member limit', async () => {
    const [owner, a, b, c] = await t.users('chowner', 'chsa', 'chsb', 'chsc');
    expect(await fail(owner.client.createChannel({ title: 'Crowded', memberIds: [a.id, b.id, c.id] }))).toMatchObject({
      status: 409,
      code: 'member_limit_reached',
    });
    const ch = await owner.client.createChannel({ title: 'Cosy', memberIds: [a.id, b.id] });
    expect(await fail(owner.client.addMembers({ chatId: ch.id, userIds: [c.id] }))).toMatchObject({ status: 409, code: 'member_limit_reached' });
    expect((await owner.client.listMembers({ chatId: ch.id })).members).toHaveLength(3);
    expect((await c.client.listChats()).chats).toHaveLength(1);
  });

  it('lets a user send again once the rate window has passed', async () => {
    const u = await t.user('waiter');
    const self = (await u.client.listChats()).chats[0]!;
    await Promise.all([1, 2].map((i) => u.client.sendMessage({ chatId: self.id, text: `${i}`, clientMessageId: `w${i}` })));
    const err = await fail(u.client.sendMessage({ chatId: self.id, text: '3', clientMessageId: 'w3' }));
    expect(err).toMatchObject({ status: 429, code: 'rate_limited' });
    expect([1, 2]).toContain(err.retryAfter);
    await new Promise((r) => setTimeout(r, err.retryAfter * 1000 + 100));
    expect((await u.client.sendMessage({ chatId: self.id, text: '3', clientMessageId: 'w3' })).seq).toBe(3);
  });
});

// At the default of 500 once, on SQLite only, to keep the suite fast: the small limit above covers both stores and races.
describe.each((await stores()).filter((k) => k === 'sqlite'))('chat limit at its default on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    // Creating 499 groups at once is over the default budget for changes, which is not what this test is about.
    t = await startTestServer(kind, { PARLEY_WRITE_RATE: '1000/10s' });
  });
  afterAll(async () => t?.close());

  it('refuses the 501st chat', async () => {
    const u: TestUser = await t.user('hoarder');
    // Saved messages plus 499 groups make 500.
    for (let i = 0; i < 499; i += 10) await Promise.all(Array.from({ length: Math.min(10, 499 - i) }, (_, k) => u.client.createGroup({ title: `g${i + k}` })));
    expect((await u.client.listChats()).chats).toHaveLength(500);
    expect(await fail(u.client.createGroup({ title: 'the 501st' }))).toMatchObject({ status: 409, code: 'chat_limit_reached' });
    expect((await u.client.listChats()).chats).toHaveLength(500);
  });
});
