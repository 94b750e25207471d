import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient } from '@parley/sdk';
import { E2eeDevice, generateAik, MemoryE2eeStore, toBase64, type E2eeChat, type E2eeStore } from '@parley/sdk/e2ee';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

// A device restarted from its store: the E2eeDevice is dropped and another is loaded from what it wrote (as kept,
// after JSON, after a file). It goes on in its chats at their epochs, reads what was sent meanwhile, sends with keys
// it never used, commits; and a store that cannot write stops a send or a commit before anything is posted.

/** A store whose writes fail once `allowed` more have been made (undefined: never). */
class FailingStore extends MemoryE2eeStore {
  allowed: number | undefined;
  override async put(records: Readonly<Record<string, Uint8Array | null>>): Promise<void> {
    if (this.allowed !== undefined) {
      if (this.allowed <= 0) throw new Error('Disk full');
      this.allowed--;
    }
    return super.put(records);
  }
}

/** The ways a store's contents reach the next run. */
const reopen: Record<string, (store: MemoryE2eeStore, dir: string) => E2eeStore> = {
  'the same store': (store) => store,
  'a store rebuilt from JSON': (store) => MemoryE2eeStore.from(JSON.parse(JSON.stringify(store.snapshot())) as Record<string, string>),
  'a store rebuilt from a file': (store, dir) => {
    const file = path.join(dir, `store-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(store.snapshot()));
    return MemoryE2eeStore.from(JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>);
  },
};

describe.each(await stores())('E2EE device restart on %s', (kind) => {
  let t: TestServer;
  let dir: string;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_WRITE_RATE: '100000/10s', PARLEY_LOGIN_LIMIT: '1000/60s', PARLEY_MESSAGE_RATE: '100000/10s' });
    dir = mkdtempSync(path.join(tmpdir(), 'parley-e2ee-store-'));
  });
  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Another client of the same session, as a restarted app would make from its stored tokens. */
  function sameSession(user: TestUser): ParleyClient {
    const client = t.client();
    client.setSession(user.client.session);
    return client;
  }

  /** Alice's device with `store`, Bob's, and their private chat's group made by Alice's. */
  async function pair(store: E2eeStore) {
    const alice = await t.user(name('alice'));
    const bob = await t.user(name('bob'));
    const a1 = await E2eeDevice.setUp(alice.client, { store });
    const b1 = await E2eeDevice.setUp(bob.client);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await a1.chat(chat.id).start();
    await b1.sync();
    return { alice, bob, a1, b1, chatId: chat.id };
  }

  const texts = (c: E2eeChat) => c.timeline().map((m) => m.text);

  it.each(Object.keys(reopen))(
    'a device loaded from %s reads what was sent meanwhile, sends with fresh keys, commits, and syncs on from its position',
    async (how) => {
      const store = new MemoryE2eeStore();
      const { alice, a1, b1, chatId } = await pair(store);
      await a1.chat(chatId).send('alice 1');
      await b1.sync();
      await b1.chat(chatId).send('bob 1');
      await a1.sync();
      // Sent and not yet seen in the log when the device goes: the next run must still show its text.
      await a1.chat(chatId).send('alice 2, just before the restart');
      const epochBefore = a1.chat(chatId).group!.epoch;

      // Meanwhile Bob writes, moves the group on, and writes again.
      await b1.sync();
      await b1.chat(chatId).send('bob 2, while alice is away');
      await b1.chat(chatId).update();
      await b1.chat(chatId).send('bob 3, at the new epoch');

      const client = sameSession(alice);
      let firstChanges: unknown;
      const getChanges = client.getChanges.bind(client);
      // Records the position the first request asks from (and passes it on unchanged).
      Object.defineProperty(client, 'getChanges', {
        value: (input: Parameters<ParleyClient['getChanges']>[0]) => {
          firstChanges ??= input;
          return getChanges(input);
        },
      });
      const loaded = await E2eeDevice.load(client, reopen[how](store, dir));
      expect([loaded.userId, loaded.deviceId, loaded.status]).toEqual([a1.userId, a1.deviceId, 'active']);
      const chat = loaded.chat(chatId);
      expect(chat.group!.epoch).toBe(epochBefore);
      expect(texts(chat)).toEqual(['alice 1', 'bob 1']);

      await loaded.sync();
      // Sync went on from the stored position, not from the start of the chat's log.
      expect((firstChanges as { chats: Record<string, number> }).chats[chatId]).toBeGreaterThan(0);
      expect(texts(chat)).toEqual(['alice 1', 'bob 1', 'alice 2, just before the restart', 'bob 2, while alice is away', 'bob 3, at the new epoch']);
      expect(chat.timeline().map((m) => m.problem)).toEqual([undefined, undefined, undefined, undefined, undefined]);
      expect(chat.group!.epoch).toBe(b1.chat(chatId).group!.epoch);

      // Its next message uses the key after the last one it used before the restart: Bob can read it.
      await chat.send('alice 3, after the restart');
      await chat.update();
      await b1.sync();
      expect(texts(b1.chat(chatId))).toEqual([
        'alice 1',
        'bob 1',
        'alice 2, just before the restart',
        'bob 2, while alice is away',
        'bob 3, at the new epoch',
        'alice 3, after the restart',
      ]);
      const last = b1.chat(chatId).timeline().at(-1)!;
      expect([last.senderDeviceId, last.problem]).toEqual([a1.deviceId, undefined]);
      expect(b1.chat(chatId).group!.epoch).toBe(chat.group!.epoch);
      await b1.chat(chatId).send('bob 4, after alice’s commit');
      await loaded.sync();
      expect(texts(chat).at(-1)).toBe('bob 4, after alice’s commit');
    },
  );

  it('never encrypts twice with one key: a message sent after a restart at the same epoch reads, as does the one before', async () => {
    const store = new MemoryE2eeStore();
    const { alice, a1, b1, chatId } = await pair(store);
    await a1.chat(chatId).send('before the restart');
    const epoch = a1.chat(chatId).group!.epoch;
    const loaded = await E2eeDevice.load(sameSession(alice), reopen['a store rebuilt from JSON'](store, dir));
    await loaded.chat(chatId).send('after the restart');
    expect(loaded.chat(chatId).group!.epoch).toBe(epoch);
    await b1.sync();
    expect(
      b1
        .chat(chatId)
        .timeline()
        .map((m) => [m.text, m.problem]),
    ).toEqual([
      ['before the restart', undefined],
      ['after the restart', undefined],
    ]);
  });

  it('keeps the identity keys it pinned and the problems it saw: a contact\u2019s key changed while it was away is told, not trusted', async () => {
    const store = new MemoryE2eeStore();
    const { alice, bob, a1, chatId } = await pair(store);
    const number = await a1.safetyNumber(bob.id);
    await bob.client.putIdentity({ publicKey: toBase64((await generateAik()).publicKey), reset: true, password: bob.password });

    const loaded = await E2eeDevice.load(sameSession(alice), MemoryE2eeStore.from(store.snapshot()));
    expect(await loaded.safetyNumber(bob.id)).toBe(number);
    expect(loaded.identityChange(bob.id)).toBeDefined();
    expect(loaded.problems).toEqual([{ kind: 'identity_changed', userId: bob.id }]);
    await expect(loaded.chat(chatId).send('to the old key')).resolves.toBeDefined();

    // And once more from what the loaded device stored: the change is still waiting for the user.
    const again = await E2eeDevice.load(sameSession(alice), MemoryE2eeStore.from((loaded.store as MemoryE2eeStore).snapshot()));
    expect(again.identityChange(bob.id)).toBeDefined();
    expect(again.problems).toEqual([{ kind: 'identity_changed', userId: bob.id }]);
    expect(await again.safetyNumber(bob.id)).toBe(number);
  });

  it('keeps the private KeyPackages it uploaded: a device loaded before it was added to a chat joins from the Welcome', async () => {
    const alice = await t.user(name('alice'));
    const bob = await t.user(name('bob'));
    const store = new MemoryE2eeStore();
    const b1 = await E2eeDevice.setUp(bob.client, { store });
    const a1 = await E2eeDevice.setUp(alice.client);
    const loaded = await E2eeDevice.load(sameSession(bob), MemoryE2eeStore.from(store.snapshot()));
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await a1.chat(chat.id).start();
    await a1.chat(chat.id).send('hello');
    await loaded.sync();
    expect(loaded.chat(chat.id).group?.members().length).toBe(2);
    expect(texts(loaded.chat(chat.id))).toEqual(['hello']);
    // The KeyPackage the Welcome used is gone from the store with the state it made; the others are kept.
    const kept = (await store.list('kp/')).length;
    const after = MemoryE2eeStore.from((loaded.store as MemoryE2eeStore).snapshot());
    expect((await after.list('kp/')).length).toBe(kept - 1);
    expect(b1.deviceId).toBe(loaded.deviceId);
  });

  it('sends and commits nothing when the store cannot write first, and goes on once it can', async () => {
    const store = new FailingStore();
    const { alice, a1, b1, chatId } = await pair(store);
    await a1.chat(chatId).send('before');
    const lastSeq = (await alice.client.getChat({ chatId })).lastSeq;

    store.allowed = 0;
    await expect(a1.chat(chatId).send('never stored')).rejects.toThrow('Disk full');
    await expect(a1.chat(chatId).update()).rejects.toThrow('Disk full');
    expect((await alice.client.getChat({ chatId })).lastSeq).toBe(lastSeq);
    await b1.sync();
    expect(texts(b1.chat(chatId))).toEqual(['before']);

    store.allowed = undefined;
    await a1.chat(chatId).send('after');
    await b1.sync();
    expect(texts(b1.chat(chatId))).toEqual(['before', 'after']);
    expect(b1.chat(chatId).timeline().at(-1)?.problem).toBeUndefined();
  });

  it('keeps a commit the server took while the device could not store that it did: the next run finds it in the log', async () => {
    const store = new FailingStore();
    const { alice, a1, b1, chatId } = await pair(store);
    const epoch = a1.chat(chatId).group!.epoch;
    // The write before posting succeeds; the one after the server accepted fails, as if the device stopped there.
    store.allowed = 1;
    await expect(a1.chat(chatId).update()).rejects.toThrow('Disk full');
    await b1.sync();
    expect(b1.chat(chatId).group!.epoch).toBe(epoch + 1n);

    const loaded = await E2eeDevice.load(sameSession(alice), MemoryE2eeStore.from(store.snapshot()));
    expect(loaded.chat(chatId).group!.epoch).toBe(epoch);
    await loaded.sync();
    expect(loaded.chat(chatId).blocked).toBeUndefined();
    expect(loaded.chat(chatId).group!.epoch).toBe(epoch + 1n);
    await loaded.chat(chatId).send('after the lost answer');
    await b1.sync();
    expect(texts(b1.chat(chatId))).toEqual(['after the lost answer']);
  });
});
