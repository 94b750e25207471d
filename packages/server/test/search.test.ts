import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import path from 'node:path';
import type { ParleyError } from '@parley/sdk';
import { freshStore, startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { migrationProvider } from '../src/adapters/db/migrations.ts';
import { searchMessages } from '../src/modules/messages/search.store.ts';
import type { DB } from '../src/adapters/db/schema.ts';

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

describe.each(await stores())('search on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => (t = await startTestServer(kind, { PARLEY_READ_RATE: '10000/10s', PARLEY_MESSAGE_RATE: '10000/10s', PARLEY_WRITE_RATE: '10000/10s' })));
  afterAll(async () => t?.close());

  let id = 0;
  const send = (u: TestUser, chatId: string, text: string) => u.client.sendMessage({ chatId, clientMessageId: `s${++id}`, text });
  const texts = async (u: TestUser, q: string, more: { chatId?: string } = {}) => (await u.client.searchMessages({ q, ...more })).messages.map((m) => m.text);

  it('finds words and word starts in my chats only, newest first, whatever their case; every word must appear', async () => {
    const [alice, bob, carol] = await t.users(name('alice'), name('bob'), name('carol'));
    const group = await alice.client.createGroup({ title: 'Fruit', memberIds: [bob.id] });
    const withCarol = await alice.client.createPrivateChat({ userId: carol.id });
    const bobCarol = await bob.client.createPrivateChat({ userId: carol.id });
    await send(alice, group.id, 'An apple a day');
    await send(bob, group.id, 'Pineapple is not an APPLE');
    await send(carol, withCarol.id, 'Green apples and red cherries');
    await send(bob, bobCarol.id, 'apple pie, just between us');
    await send(alice, group.id, 'Bananas only');

    expect(await texts(alice, 'apple')).toEqual(['Green apples and red cherries', 'Pineapple is not an APPLE', 'An apple a day']);
    expect(await texts(alice, 'APP')).toEqual(['Green apples and red cherries', 'Pineapple is not an APPLE', 'An apple a day']);
    expect(await texts(alice, 'red apple')).toEqual(['Green apples and red cherries']);
    expect(await texts(alice, 'apple', { chatId: group.id })).toEqual(['Pineapple is not an APPLE', 'An apple a day']);
    expect(await texts(bob, 'pie')).toEqual(['apple pie, just between us']);
    expect(await texts(alice, 'pie')).toEqual([]);
    // Someone else's chat is as missing as one that never existed.
    const other = await fail(alice.client.searchMessages({ q: 'apple', chatId: bobCarol.id }));
    expect([other.status, other.code]).toEqual([404, 'not_found']);
    const results = (await alice.client.searchMessages({ q: 'apple' })).messages;
    expect(new Set(results.map((m) => m.chatId))).toEqual(new Set([group.id, withCarol.id]));
  });

  it('follows edits and deletes, and reads nothing from before I joined or before I cleared a chat', async () => {
    const [alice, bob, dave] = await t.users(name('alice'), name('bob'), name('dave'));
    const group = await alice.client.createGroup({ title: 'Plans', memberIds: [bob.id] });
    await send(alice, group.id, 'secret venue before dave');
    const edited = await send(bob, group.id, 'meet at the harbour');
    const deleted = await send(bob, group.id, 'meet at the station');
    await bob.client.editMessage({ chatId: group.id, messageId: edited.id, text: 'meet at the lighthouse' });
    await bob.client.deleteMessage({ chatId: group.id, messageId: deleted.id });
    expect(await texts(alice, 'harbour')).toEqual([]);
    expect(await texts(alice, 'station')).toEqual([]);
    expect(await texts(alice, 'meet')).toEqual(['meet at the lighthouse']);

    await alice.client.addMembers({ chatId: group.id, userIds: [dave.id] });
    await send(alice, group.id, 'secret venue after dave joined');
    expect(await texts(dave, 'secret venue')).toEqual(['secret venue after dave joined']);
    expect(await texts(bob, 'secret venue')).toEqual(['secret venue after dave joined', 'secret venue before dave']);

    const mine = await alice.client.createPrivateChat({ userId: dave.id });
    await send(dave, mine.id, 'old gossip');
    await alice.client.deleteChat({ chatId: mine.id, forEveryone: false });
    expect(await texts(alice, 'gossip')).toEqual([]);
    expect(await texts(dave, 'gossip')).toEqual(['old gossip']);
  });

  it('pages older results through nextCursor with nothing skipped or repeated', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    for (let i = 0; i < 7; i++) await send(i % 2 ? bob : alice, chat.id, `lantern number ${i}`);
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await alice.client.searchMessages({ q: 'lantern', limit: 3, ...(before ? { before } : {}) });
      seen.push(...page.messages.map((m) => m.text!));
      if (!page.nextCursor) break;
      before = page.nextCursor;
    }
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => `lantern number ${i}`));
  });

  it('takes any text as words, never as query syntax; refuses a query with no word', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await send(alice, chat.id, 'quotes "and" stars* NEAR(x y) OR not -minus col:umn');
    for (const q of ['"and"', 'stars*', 'NEAR(x', 'OR not', '-minus', 'col:umn', "'); drop table messages; --", 'a & b | !c', 'x:* <->']) {
      const res = await alice.client.searchMessages({ q });
      expect(res.messages.every((m) => m.chatId === chat.id)).toBe(true);
    }
    expect((await alice.client.searchMessages({ q: 'NEAR(x y)' })).messages).toHaveLength(1);
    for (const q of ['!!!', '  ', '*']) {
      const refused = await fail(alice.client.searchMessages({ q }));
      expect([refused.status, refused.code]).toEqual([400, 'invalid_request']);
    }
  });

  it('finds people by the start of a username or of a display-name word, not me, not disabled or deleted accounts', async () => {
    const tag = name('zq');
    const [me, ann, anna, bo] = await t.users(`${tag}me`, `${tag}ann`, `${tag}anna`, `${tag}bo`);
    await ann.client.updateMe({ displayName: 'Ann Smith' });
    await bo.client.updateMe({ displayName: 'Bo 100% Sure' });
    const found = async (q: string) => (await me.client.searchUsers({ q })).users.map((u) => u.username);
    expect(await found(`${tag}ann`)).toEqual([`${tag}ann`, `${tag}anna`]);
    expect(await found(`@${tag.toUpperCase()}ANNA`)).toEqual([`${tag}anna`]);
    expect(await found(tag)).toEqual([`${tag}ann`, `${tag}anna`, `${tag}bo`]);
    expect(await found('smith')).toContain(`${tag}ann`);
    expect(await found('100%')).toContain(`${tag}bo`);
    expect(await found('100_')).not.toContain(`${tag}bo`);
    expect((await me.client.searchUsers({ q: tag, limit: 1 })).users).toHaveLength(1);
    await anna.client.deleteAccount({ password: anna.password });
    expect(await found(tag)).toEqual([`${tag}ann`, `${tag}bo`]);
    const refused = await fail(me.client.searchUsers({ q: '@' }));
    expect([refused.status, refused.code]).toEqual([400, 'invalid_request']);
  });
});

describe.each(await stores())('search index on %s', (kind) => {
  it('indexes the messages a database already had when the search migration ran', async () => {
    const store = await freshStore(kind);
    const env = store.env as Record<string, string>;
    const db = new Kysely<DB>({
      dialect: env.DATABASE_URL
        ? new PostgresDialect({ pool: new pg.Pool({ connectionString: env.DATABASE_URL }) })
        : new SqliteDialect({ database: new Sqlite(path.join(env.PARLEY_DATA_DIR!, 'parley.sqlite')) }),
    });
    try {
      const migrator = new Migrator({ db, provider: migrationProvider });
      expect((await migrator.migrateTo('006_avatars')).error).toBeUndefined();
      await db
        .insertInto('users')
        .values({ id: 'u1', username: 'u1', display_name: 'U', password_hash: null, is_admin: 0, created_at: 1, event_seq: 0, add_policy: 'everyone' })
        .execute();
      await db
        .insertInto('chats')
        .values({ id: 'c1', kind: 'self', title: null, owner_id: null, pair_key: 'u1', last_seq: 2, member_count: 1, created_at: 1 })
        .execute();
      await db
        .insertInto('members')
        .values({ chat_id: 'c1', user_id: 'u1', role: 'owner', joined_at: 1, joined_seq: 0, read_seq: 0, hidden_seq: null, muted: 0 })
        .execute();
      for (const [seq, text] of [
        [1, 'written before search existed'],
        [2, null],
      ] as const)
        await db
          .insertInto('messages')
          .values({
            id: `m${seq}`,
            chat_id: 'c1',
            seq,
            sender_id: 'u1',
            client_message_id: `c${seq}`,
            kind: 'text',
            text,
            reply_to_id: null,
            created_at: seq,
            edited_at: null,
            deleted_at: null,
            attachments: null,
          })
          .execute();
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const found = await searchMessages(db, { userId: 'u1', terms: ['existed'], limit: 10 });
      expect(found.map((m) => m.id)).toEqual(['m1']);
    } finally {
      await db.destroy();
      await store.drop();
    }
  });
});
