import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient, type Message } from '@parley/sdk';
import { freshStore, stores, type TestStore } from './_harness.ts';
import { buildConfig } from '../src/config/config.ts';
import { createContext } from '../src/context.ts';
import { createLogger } from '../src/logger.ts';
import { createInvite } from '../src/modules/invites/invites.ts';
import { spawnServe, type ServeProcess } from './_cli.ts';
import { rawSocket } from './_ws.ts';
import { allMessages, range } from './_sync.ts';

describe.each(await stores())('durability on %s', (kind) => {
  let store: TestStore;
  let env: Record<string, string>;
  const procs: ServeProcess[] = [];

  beforeAll(async () => {
    store = await freshStore(kind);
    env = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', PARLEY_MESSAGE_RATE: '1000/10s', ...(store.env as Record<string, string>) };
  });
  afterAll(async () => {
    for (const p of procs) p.kill();
    await store?.drop();
  });

  async function serve(): Promise<ServeProcess> {
    const p = await spawnServe(env, 60_000);
    procs.push(p);
    return p;
  }

  it('keeps every message acknowledged over the socket through kill -9 of the server', async () => {
    // The invite is made in this process, straight in the store, to spare a process start.
    const ctx = await createContext(buildConfig(env), { log: createLogger('silent') });
    await ctx.db.migrate();
    const code = (await createInvite(ctx, null, { maxUses: 5 })).code!;
    await ctx.close();
    const first = await serve();

    const alice = new ParleyClient({ baseUrl: first.url });
    const bob = new ParleyClient({ baseUrl: first.url });
    await alice.register({ inviteCode: code, username: 'alice', password: 'alice password', displayName: 'Alice' });
    await bob.register({ inviteCode: code, username: 'bob', password: 'bob password', displayName: 'Bob' });
    await alice.login({ username: 'alice', password: 'alice password', deviceName: 'laptop' });
    await bob.login({ username: 'bob', password: 'bob password', deviceName: 'phone' });
    const chat = await alice.createPrivateChat({ userId: bob.session!.userId });
    const overHttp = await alice.sendMessage({ chatId: chat.id, text: 'over HTTP', clientMessageId: 'h1' });
    const edited = await alice.editMessage({ chatId: chat.id, messageId: overHttp.id, text: 'over HTTP, edited' });

    const socket = await rawSocket(first, { client: alice });
    const acked: Message[] = [];
    // Sends keep streaming; the server dies right after an ack arrives, with more sends in flight.
    let i = 0;
    socket.ws.on('message', (data) => {
      const f = JSON.parse(data.toString());
      if (f.type !== 'ack' || !f.message) return;
      acked.push(f.message);
      if (acked.length === 40) first.kill();
    });
    const pump = setInterval(() => {
      for (let k = 0; k < 5; k++, i++) socket.send({ type: 'send', id: `s${i}`, chatId: chat.id, text: `acked ${i} ✓`, clientMessageId: `ws-${i}` });
    }, 2);
    const exit = await first.exited;
    clearInterval(pump);
    expect(exit.signal).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(40);
    await socket.closed;

    const second = await serve();
    // The session lives in the store: the same tokens work on the restarted server.
    const reader = new ParleyClient({ baseUrl: second.url, session: bob.session });
    const messages = await allMessages(reader, chat.id);
    const byId = new Map(messages.map((m) => [m.id, m]));
    for (const m of acked) expect(byId.get(m.id), `acked message ${m.clientMessageId}`).toEqual(m);
    expect(byId.get(overHttp.id)).toEqual(edited);
    // Whatever else was in flight is there whole or not at all: the chat log still runs without gaps.
    const changes = await reader.getChanges({ userSeq: 0, limit: 5000 });
    const log = changes.events.filter((e) => e.log === 'chat' && e.chatId === chat.id);
    const lastSeq = (await reader.getChat({ chatId: chat.id })).lastSeq;
    expect(log.map((e) => e.seq)).toEqual(range(0, lastSeq));
    const created = log.filter((e) => e.type === 'message.created').map((e) => (e as { message: Message }).message.id);
    expect(created.sort()).toEqual(messages.map((m) => m.id).sort());

    // And it keeps going: a retry of an in-flight send does not duplicate.
    const last = i - 1;
    const retry = await new ParleyClient({ baseUrl: second.url, session: alice.session }).sendMessage({
      chatId: chat.id,
      text: `acked ${last} ✓`,
      clientMessageId: `ws-${last}`,
    });
    expect((await allMessages(reader, chat.id)).filter((m) => m.clientMessageId === `ws-${last}`)).toEqual([retry]);
    second.kill();
    // Two process starts: slow on a busy machine.
  }, 180_000);
});
