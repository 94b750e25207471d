import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient, type ParleyError } from '@parley/sdk';
import { E2eeDevice, type E2eeChat } from '@parley/sdk/e2ee';
import { buildConfig, startServer, type RunningServer } from '@parley/server';
import { createInvite } from '@parley/server/invites';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

// PARLEY_E2EE: with on, new private chats and saved messages are end-to-end encrypted from the start (the server
// refuses text in them, the first device's engine makes their group), groups and channels stay plaintext, and chats
// made while it was off keep their state and say so; with off nothing changes. Two servers share one store: one
// with the setting on, one with it off.

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

const LIMITS = { PARLEY_WRITE_RATE: '100000/10s', PARLEY_LOGIN_LIMIT: '1000/60s', PARLEY_MESSAGE_RATE: '100000/10s' };

describe.each(await stores())('PARLEY_E2EE on %s', (kind) => {
  let on: TestServer;
  let off: RunningServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => {
    on = await startTestServer(kind, { ...LIMITS, PARLEY_E2EE: 'on' });
    off = await startServer(buildConfig({ PORT: '0', HOST: '127.0.0.1', ...on.store.env, ...LIMITS, PARLEY_E2EE: 'off', LOG_LEVEL: 'silent' }));
  });
  afterAll(async () => {
    await off?.close();
    await on?.close();
  });

  /** A user registered through the server with the setting off, and signed in on either server. */
  async function offUser(base: string): Promise<TestUser & { onClient: ParleyClient }> {
    const username = name(base);
    const password = `pw-${username}-secret`;
    const client = new ParleyClient({ baseUrl: off.url, userAgent: 'parley-tests' });
    const { code } = await createInvite(off.ctx, null, {});
    const me = await client.register({ inviteCode: code!, username, password, displayName: username });
    const session = await client.login({ username, password, deviceName: `${username}-off` });
    const onClient = on.client();
    await onClient.login({ username, password, deviceName: `${username}-on` });
    return { id: me.id, username, password, client, session, onClient };
  }

  const selfChat = async (client: ParleyClient) => (await client.listChats()).chats.find((c) => c.kind === 'self')!;
  const texts = (c: E2eeChat) => c.timeline().map((m) => m.text);

  /** Text into the chat is refused with 409 e2ee_required and writes nothing. */
  async function refusesText(client: ParleyClient, chatId: string): Promise<void> {
    const before = { chat: await client.getChat({ chatId }), messages: (await client.listMessages({ chatId })).messages };
    const refused = await fail(client.sendMessage({ chatId, clientMessageId: crypto.randomUUID(), text: 'plain words' }));
    expect([refused.status, refused.code]).toEqual([409, 'e2ee_required']);
    expect((await client.getChat({ chatId })).lastSeq).toBe(before.chat.lastSeq);
    expect((await client.listMessages({ chatId })).messages).toEqual(before.messages);
  }

  it('with on, a new private chat and saved messages are encrypted from the start: text is refused, the engine makes the group and sends', async () => {
    const [alice, bob] = await on.users(name('alice'), name('bob'));
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    expect(chat.encryption).toBe('e2ee');
    expect((await bob.client.getChat({ chatId: chat.id })).encryption).toBe('e2ee');
    expect((await bob.client.listChats()).chats.find((c) => c.id === chat.id)?.encryption).toBe('e2ee');
    const saved = await selfChat(alice.client);
    expect(saved.encryption).toBe('e2ee');
    // Before the group exists: nothing to write into it but its first commit.
    await refusesText(alice.client, chat.id);
    await refusesText(bob.client, chat.id);
    await refusesText(alice.client, saved.id);

    const a1 = await E2eeDevice.setUp(alice.client);
    const b1 = await E2eeDevice.setUp(bob.client);
    await a1.chat(chat.id).start();
    await b1.sync();
    await a1.chat(chat.id).send('hello bob');
    await b1.sync();
    expect(texts(b1.chat(chat.id))).toEqual(['hello bob']);
    await b1.chat(chat.id).send('hello alice');
    await a1.sync();
    expect(texts(a1.chat(chat.id))).toEqual(['hello bob', 'hello alice']);
    await a1.chat(saved.id).start();
    await a1.chat(saved.id).send('a note');
    await a1.sync();
    expect(texts(a1.chat(saved.id))).toEqual(['a note']);

    for (const [client, chatId] of [
      [alice.client, chat.id],
      [alice.client, saved.id],
    ] as const) {
      const { messages } = await client.listMessages({ chatId });
      expect(messages.map((m) => [m.kind, m.text])).toEqual(messages.map(() => ['mls', '']));
      expect((await client.getChat({ chatId })).encryption).toBe('e2ee');
      await refusesText(client, chatId);
    }
  });

  it('with on, groups and channels stay plaintext: they say so, take text, and refuse a group', async () => {
    const [alice, bob] = await on.users(name('alice'), name('bob'));
    const group = await alice.client.createGroup({ title: 'team', memberIds: [bob.id] });
    const channel = await alice.client.createChannel({ title: 'news', memberIds: [bob.id] });
    const a1 = await E2eeDevice.setUp(alice.client);
    await E2eeDevice.setUp(bob.client);
    for (const chat of [group, channel]) {
      expect(chat.encryption).toBe('none');
      const refused = await fail(a1.chat(chat.id).start());
      expect([refused.status, refused.code]).toEqual([400, 'invalid_request']);
      const sent = await alice.client.sendMessage({ chatId: chat.id, clientMessageId: crypto.randomUUID(), text: `plain in ${chat.kind}` });
      expect(sent).toMatchObject({ kind: 'text', text: `plain in ${chat.kind}` });
      expect((await bob.client.getChat({ chatId: chat.id })).encryption).toBe('none');
    }
  });

  it('a chat made while it was off stays plaintext once it is on, and says so', async () => {
    const alice = await offUser('alice');
    const bob = await offUser('bob');
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    expect(chat.encryption).toBe('none');
    // Read and written through the server with the setting on: as it was made.
    for (const client of [alice.onClient, bob.onClient]) {
      expect((await client.getChat({ chatId: chat.id })).encryption).toBe('none');
      expect((await selfChat(client)).encryption).toBe('none');
    }
    expect((await alice.onClient.createPrivateChat({ userId: bob.id })).id).toBe(chat.id);
    const sent = await alice.onClient.sendMessage({ chatId: chat.id, clientMessageId: crypto.randomUUID(), text: 'still plain' });
    expect(sent).toMatchObject({ kind: 'text', text: 'still plain' });
    const saved = await selfChat(bob.onClient);
    expect(await bob.onClient.sendMessage({ chatId: saved.id, clientMessageId: crypto.randomUUID(), text: 'my note' })).toMatchObject({ kind: 'text' });
    // While a chat the same users open now on that server is encrypted.
    const carol = await on.user(name('carol'));
    const fresh = await alice.onClient.createPrivateChat({ userId: carol.id });
    expect(fresh.encryption).toBe('e2ee');
    await refusesText(carol.client, fresh.id);
  });

  it('with off nothing changes: new private chats and saved messages are plaintext until a device makes their group', async () => {
    const alice = await offUser('alice');
    const bob = await offUser('bob');
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const saved = await selfChat(alice.client);
    for (const c of [chat, saved]) {
      expect(c.encryption).toBe('none');
      expect(await alice.client.sendMessage({ chatId: c.id, clientMessageId: crypto.randomUUID(), text: 'plain' })).toMatchObject({ kind: 'text' });
    }
    // The first device's init commit makes it encrypted, as before.
    const a1 = await E2eeDevice.setUp(alice.client);
    await E2eeDevice.setUp(bob.client);
    await a1.chat(chat.id).start();
    expect((await bob.client.getChat({ chatId: chat.id })).encryption).toBe('e2ee');
    await refusesText(bob.client, chat.id);
  });
});
