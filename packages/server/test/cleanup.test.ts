import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCleanup } from '../src/modules/cleanup/cleanup.ts';
import { createInvite } from '../src/modules/invites/invites.ts';
import { startTestServer, stores, type TestServer } from './_harness.ts';
import { eventually } from './_realtime.ts';

const DAY = 86_400_000;

type Table = 'sessions' | 'invites' | 'chats' | 'messages' | 'members' | 'chat_events' | 'user_events';

/** How many rows of a table have this value in this column. */
async function count(t: TestServer, table: Table, column: string, value: string): Promise<number> {
  const row = await t.server.ctx.db.kysely
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .where(column as never, '=', value as never)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe.each(await stores())('cleanup on %s', (kind) => {
  let t: TestServer;
  let offset = 0;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_REFRESH_TOKEN_TTL: '3600', PARLEY_LOGIN_LIMIT: '100/60s' }, { now: () => Date.now() + offset });
  });
  afterAll(async () => t?.close());

  const rows = (table: Table, column: string, value: string) => count(t, table, column, value);

  it('removes expired sessions and old invites, deleted and empty chats, and deleted accounts’ logs; keeps the rest', async () => {
    const ctx = t.server.ctx;
    const ann = await t.user('ann');
    const bob = await t.user('bob');
    const gone = await t.user('gone');

    // A group everyone left (its owner alone, leaving, deletes it), with messages in it.
    const lonely = await ann.client.createGroup({ title: 'Lonely' });
    await ann.client.sendMessage({ chatId: lonely.id, text: 'echo', clientMessageId: 'c1' });
    await ann.client.leaveChat({ chatId: lonely.id });
    // A private chat deleted for both.
    const pair = await ann.client.createPrivateChat({ userId: bob.id });
    await bob.client.sendMessage({ chatId: pair.id, text: 'bye', clientMessageId: 'c2' });
    await ann.client.deleteChat({ chatId: pair.id, forEveryone: true });
    // A group that lives on, and a private chat only hidden by one side.
    const live = await ann.client.createGroup({ title: 'Live', memberIds: [bob.id] });
    await bob.client.sendMessage({ chatId: live.id, text: 'still here', clientMessageId: 'c3' });
    const hidden = await ann.client.createPrivateChat({ userId: gone.id });
    await ann.client.deleteChat({ chatId: hidden.id });
    // An account deleted since.
    await gone.client.deleteAccount({ password: gone.password });

    const revoked = await createInvite(ctx, null, {});
    await ann.client.revokeInvite({ inviteId: (await ann.client.createInvite({})).id });
    const expiring = await createInvite(ctx, null, { expiresInSeconds: 60 });
    const lasting = await createInvite(ctx, null, { expiresInSeconds: null });
    await ctx.db.kysely.updateTable('invites').set({ revoked_at: Date.now() }).where('id', '=', revoked.id).execute();

    // Nothing is old yet: a run removes only the chats nobody is in (the deleted account's saved messages too).
    const first = await runCleanup(ctx);
    expect(first).toMatchObject({ sessions: 0, invites: 0, chats: 3 });
    for (const chat of [lonely.id, pair.id]) {
      expect(await rows('chats', 'id', chat)).toBe(0);
      expect(await rows('messages', 'chat_id', chat)).toBe(0);
      expect(await rows('chat_events', 'chat_id', chat)).toBe(0);
    }
    expect(await rows('chats', 'id', live.id)).toBe(1);
    expect(await rows('messages', 'chat_id', live.id)).toBe(1);
    expect(await rows('chats', 'id', hidden.id)).toBe(1);
    expect(await rows('user_events', 'user_id', gone.id)).toBe(0);
    expect(await rows('user_events', 'user_id', ann.id)).toBeGreaterThan(0);
    expect(await rows('invites', 'id', revoked.id)).toBe(1);

    // Eight days on: every session made above has expired, and so have the invites' grace periods.
    offset = 8 * DAY;
    const fresh = await t.client().login({ username: 'bob', password: bob.password, deviceName: 'later' });
    // Two nodes running it at once remove each row once between them, and neither fails.
    const [a, b] = await Promise.all([runCleanup(ctx), runCleanup(ctx)]);
    expect(a.sessions + b.sessions).toBe(2);
    expect(a.invites + b.invites).toBe(3);
    expect(await rows('sessions', 'id', fresh.sessionId)).toBe(1);
    expect(await rows('sessions', 'user_id', ann.id)).toBe(0);
    expect(await rows('invites', 'id', revoked.id)).toBe(0);
    expect(await rows('invites', 'id', expiring.id)).toBe(0);
    expect(await rows('invites', 'id', lasting.id)).toBe(1);
    expect(await rows('chats', 'id', live.id)).toBe(1);
    expect(await runCleanup(ctx)).toEqual({ sessions: 0, invites: 0, chats: 0, userEvents: 0, files: 0, uploads: 0, calls: 0 });
    offset = 0;
  });
});

describe.each(await stores())('scheduled cleanup on %s', (kind) => {
  let t: TestServer;
  let offset = 0;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_CLEANUP_INTERVAL: '1', PARLEY_REFRESH_TOKEN_TTL: '60' }, { now: () => Date.now() + offset });
  });
  afterAll(async () => t?.close());

  it('runs by itself at the configured interval', async () => {
    const u = await t.user('sleeper');
    offset = 120_000;
    await eventually(async () => (await count(t, 'sessions', 'id', u.session.sessionId)) === 0, 5000, 'the expired session to be removed');
  });
});
