import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStore, stores, type TestStore } from '../../../test/_harness.ts';
import { InProcessBus } from '../../adapters/bus/in-process-bus.ts';
import type { BusTopics, Delivery, Topic } from '../../adapters/bus/topics.ts';
import { buildConfig } from '../../config/config.ts';
import { createContext } from '../../context.ts';
import { newId } from '../../lib/ids.ts';
import { createLogger } from '../../logger.ts';
import type { AppContext } from '../app-context.ts';
import { recordChatEvent, recordUserEvent } from './event-log.ts';
import { chatEventsAfter, userEventsAfter } from './sync.store.ts';
import { commit } from './unit-of-work.ts';

/** An in-process bus that remembers what was published on it. */
class RecordingBus extends InProcessBus {
  deliveries: Delivery[] = [];
  revoked: string[][] = [];
  override publish<T extends Topic>(topic: T, message: BusTopics[T]): void {
    if (topic === 'deliver') this.deliveries.push(message as Delivery);
    if (topic === 'sessions.revoked') this.revoked.push((message as BusTopics['sessions.revoked']).sessionIds);
    super.publish(topic, message);
  }
}

const byNumber = (a: number | undefined, b: number | undefined) => (a ?? 0) - (b ?? 0);
const seqOf = (d: Delivery) => ('event' in d && d.event.log === 'chat' ? d.event.seq : undefined);

describe.each(await stores())('event log store on %s', (kind) => {
  let store: TestStore;
  let ctx: AppContext;
  let bus: RecordingBus;

  beforeAll(async () => {
    store = await freshStore(kind);
    bus = new RecordingBus();
    ctx = await createContext(buildConfig({ LOG_LEVEL: 'silent', ...store.env }), { log: createLogger('silent'), bus });
    await ctx.db.migrate();
  });
  afterAll(async () => {
    await ctx?.close();
    await store?.drop();
  });

  async function newUser(): Promise<string> {
    const id = newId();
    await ctx.db.kysely
      .insertInto('users')
      .values({
        id,
        username: `u${id.slice(0, 8)}`,
        add_policy: 'everyone',
        display_name: 'U',
        password_hash: null,
        is_admin: 0,
        created_at: 0,
        disabled_at: null,
        deleted_at: null,
        event_seq: 0,
        avatar_file_id: null,
      })
      .execute();
    return id;
  }

  async function newChat(ownerId: string): Promise<string> {
    const id = newId();
    await ctx.db.kysely
      .insertInto('chats')
      .values({
        id,
        kind: 'group',
        title: 't',
        owner_id: ownerId,
        pair_key: null,
        last_seq: 0,
        member_count: 0,
        created_at: 0,
        deleted_at: null,
        avatar_file_id: null,
      })
      .execute();
    return id;
  }

  it('recordChatEvent() hands out gap-free positions to concurrent writers', async () => {
    const chatId = await newChat(await newUser());
    const writers = 30;
    const seqs = await Promise.all(
      Array.from({ length: writers }, (_, i) =>
        commit(
          ctx,
          async (work) => (await recordChatEvent(work, { chatId, type: 'chat.updated', actorId: null, recipients: [], data: { title: `t${i}` } })).seq,
        ),
      ),
    );
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: writers }, (_, i) => i + 1));
    const rows = await ctx.db.kysely.selectFrom('chat_events').select('seq').where('chat_id', '=', chatId).orderBy('seq').execute();
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: writers }, (_, i) => i + 1));
    const chat = await ctx.db.kysely.selectFrom('chats').select('last_seq').where('id', '=', chatId).executeTakeFirstOrThrow();
    expect(Number(chat.last_seq)).toBe(writers);
  });

  it('recordUserEvent() numbers one user log 1, 2, 3, … under concurrent appends, apart from other users', async () => {
    const [a, b] = [await newUser(), await newUser()];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => commit(ctx, (work) => recordUserEvent(work, i % 2 ? a : b, { type: 'chat.muted', chatId: 'c', muted: true }))),
    );
    for (const userId of [a, b]) {
      const rows = await userEventsAfter(ctx.db.kysely, { userId, after: 0, limit: 100 });
      expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    }
    expect((await userEventsAfter(ctx.db.kysely, { userId: a, after: 7, limit: 2 })).map((r) => Number(r.seq))).toEqual([8, 9]);
  });

  it('chatEventsAfter() pages chat by chat in id order, in position order, after each chat’s own position', async () => {
    const owner = await newUser();
    const chats = [await newChat(owner), await newChat(owner), await newChat(owner)].sort();
    for (const chatId of chats) {
      await commit(ctx, async (work) => {
        for (let i = 0; i < 4; i++) await recordChatEvent(work, { chatId, type: 'chat.updated', actorId: owner, recipients: [], data: { title: `${i}` } });
      });
    }
    const from = new Map([
      [chats[2]!, 0],
      [chats[0]!, 2],
      [chats[1]!, 3],
    ]);
    const all = await chatEventsAfter(ctx.db.kysely, from, 100);
    expect(all.map((e) => [e.row.chat_id, e.row.seq])).toEqual([
      [chats[0], 3],
      [chats[0], 4],
      [chats[1], 4],
      [chats[2], 1],
      [chats[2], 2],
      [chats[2], 3],
      [chats[2], 4],
    ]);
    const page = await chatEventsAfter(ctx.db.kysely, from, 4);
    expect(page.map((e) => [e.row.chat_id, e.row.seq])).toEqual(all.slice(0, 4).map((e) => [e.row.chat_id, e.row.seq]));
    expect(await chatEventsAfter(ctx.db.kysely, new Map(), 10)).toEqual([]);
  });

  it('chatEventsAfter() returns the message a message event is about, as it is now', async () => {
    const owner = await newUser();
    const chatId = await newChat(owner);
    const messageId = newId();
    await commit(ctx, async (work) => {
      const message = {
        id: messageId,
        chat_id: chatId,
        seq: 1,
        sender_id: owner,
        client_message_id: 'c1',
        kind: 'text' as const,
        text: 'hi',
        reply_to_id: null,
        created_at: 5,
        edited_at: null,
        deleted_at: null,
      };
      await work.tx.updateTable('chats').set({ last_seq: 1 }).where('id', '=', chatId).execute();
      await work.tx.insertInto('messages').values(message).execute();
      await recordChatEvent(work, { chatId, type: 'message.created', actorId: owner, recipients: [], message, seq: 1 });
    });
    await ctx.db.kysely.updateTable('messages').set({ text: 'edited', edited_at: 9 }).where('id', '=', messageId).execute();
    const [event] = await chatEventsAfter(ctx.db.kysely, new Map([[chatId, 0]]), 10);
    expect(event!.message).toMatchObject({ id: messageId, text: 'edited', edited_at: 9, seq: 1 });
  });

  it('commit() announces only what the attempt that committed recorded', async () => {
    const owner = await newUser();
    const chatId = await newChat(owner);
    const before = bus.deliveries.length;
    let attempts = 0;
    await commit(ctx, async (work) => {
      attempts++;
      await recordChatEvent(work, { chatId, type: 'chat.updated', actorId: owner, recipients: [owner], data: { title: `attempt ${attempts}` } });
      work.revoke([`s-attempt-${attempts}`]);
      // A serialization failure: the store rolls the attempt back and runs it again.
      if (attempts === 1) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
    });
    expect(attempts).toBe(2);
    const mine = bus.deliveries.slice(before);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ userIds: [owner], event: { seq: 1, title: 'attempt 2' } });
    expect(bus.revoked.at(-1)).toEqual(['s-attempt-2']);
    expect(bus.revoked.flat()).not.toContain('s-attempt-1');
  });

  it('commit() announces nothing when the change fails, and writes nothing', async () => {
    const owner = await newUser();
    const chatId = await newChat(owner);
    const before = bus.deliveries.length;
    await expect(
      commit(ctx, async (work) => {
        await recordChatEvent(work, { chatId, type: 'chat.updated', actorId: owner, recipients: [owner], data: { title: 'never' } });
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(bus.deliveries.slice(before).map(seqOf)).toEqual([]);
    expect(await chatEventsAfter(ctx.db.kysely, new Map([[chatId, 0]]), 10)).toEqual([]);
  });

  it('commit() with grouped announces each unit of a group after it commits, and none of a failed unit', async () => {
    const owner = await newUser();
    const chatId = await newChat(owner);
    const before = bus.deliveries.length;
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        commit(
          ctx,
          async (work) => {
            const event = await recordChatEvent(work, { chatId, type: 'chat.updated', actorId: owner, recipients: [owner], data: { title: `${i}` } });
            if (i === 2) throw new Error('unit fails');
            return event.seq;
          },
          { grouped: true },
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    const committed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const announced = bus.deliveries.slice(before).map(seqOf);
    expect([...announced].sort(byNumber)).toEqual([...committed].sort(byNumber));
    const rows = await chatEventsAfter(ctx.db.kysely, new Map([[chatId, 0]]), 10);
    expect(rows.map((r) => r.row.seq).sort(byNumber)).toEqual([...committed].sort(byNumber));
    expect(rows.map((r) => JSON.parse(r.row.data!).title)).not.toContain('2');
  });
});
