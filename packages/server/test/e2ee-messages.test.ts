import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ParleyClient, type ParleyError } from '@parley/sdk';
import { createMls, E2eeDevice, encodeDeviceCert, fromBase64, generateAik, signDeviceCert, toBase64, type E2eeChat } from '@parley/sdk/e2ee';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

// End-to-end encrypted private chats with the SDK's engine against a real server: every device of both people in
// the group, messages the server stores and relays only as ciphertext, concurrent commits and sends resolved by the
// epoch compare-and-swap, and an ended device removed before anyone may send again.

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

/** Every file under a directory (the SQLite database, its WAL, the blob store), as one latin1 string. */
function filesUnder(dir: string): string {
  let all = '';
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    all += statSync(p).isDirectory() ? filesUnder(p) : readFileSync(p).toString('latin1');
  }
  return all;
}

describe.each(await stores())('E2EE messages on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_WRITE_RATE: '100000/10s', PARLEY_LOGIN_LIMIT: '1000/60s', PARLEY_MESSAGE_RATE: '100000/10s' });
  });
  afterAll(async () => t?.close());

  /** Everything the server keeps: its data directory, and on PostgreSQL a dump of the database. */
  function serverBytes(): string {
    const dir = t.store.env.PARLEY_DATA_DIR!;
    const files = filesUnder(dir);
    if (kind === 'sqlite') return files;
    return files + execFileSync('pg_dump', ['--data-only', t.store.env.DATABASE_URL!], { maxBuffer: 256 * 1024 * 1024 }).toString('utf8');
  }

  async function secondDevice(user: TestUser, first: E2eeDevice): Promise<{ client: ParleyClient; device: E2eeDevice }> {
    const client = t.client();
    await client.login({ username: user.username, password: user.password, deviceName: `${user.username}-second` });
    const device = await E2eeDevice.setUp(client, { aik: first.aik });
    expect(device.status).toBe('pending');
    await first.approve(device.deviceId);
    await device.activate();
    return { client, device };
  }

  /** Alice with two devices, Bob with one, and their private chat's group made by Alice's first device. */
  async function pair() {
    const alice = await t.user(name('alice'));
    const bob = await t.user(name('bob'));
    const a1 = await E2eeDevice.setUp(alice.client);
    const a2 = await secondDevice(alice, a1);
    const b1 = await E2eeDevice.setUp(bob.client);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await a1.chat(chat.id).start();
    const devices = [a1, a2.device, b1];
    await Promise.all(devices.map((d) => d.sync()));
    return { alice, bob, a1, a2, b1, chatId: chat.id, devices, chats: devices.map((d) => d.chat(chat.id)) };
  }

  const texts = (c: E2eeChat) => c.timeline().map((m) => m.text);

  it('puts every device of both people in the group; each reads every message the others send, and no plaintext reaches the server', async () => {
    const { alice, a1, a2, b1, chatId, devices, chats } = await pair();
    for (const c of chats) expect(c.group?.members().length).toBe(3);
    expect((await alice.client.getChat({ chatId })).lastSeq).toBe(1);

    const canary = `canary-${randomBytes(8).toString('hex')}`;
    await a1.chat(chatId).send(`${canary} from alice's laptop`);
    await a2.device.chat(chatId).send(`${canary} from alice's phone`);
    await b1.chat(chatId).send(`${canary} from bob`);
    await Promise.all(devices.map((d) => d.sync()));
    const expected = [`${canary} from alice's laptop`, `${canary} from alice's phone`, `${canary} from bob`];
    for (const c of chats) expect(texts(c)).toEqual(expected);
    // MLS says which device sent each; the server said which user.
    expect(
      b1
        .chat(chatId)
        .timeline()
        .map((m) => m.senderDeviceId),
    ).toEqual([a1.deviceId, a2.device.deviceId, b1.deviceId]);

    // What the server hands out is ciphertext only.
    const page = await alice.client.listMessages({ chatId });
    expect(page.messages.map((m) => [m.kind, m.text])).toEqual([
      ['mls', ''],
      ['mls', ''],
      ['mls', ''],
    ]);
    expect(JSON.stringify(page)).not.toContain(canary);

    // The control: the same scan finds a canary sent in a plaintext chat, so it can fail.
    const control = `control-${randomBytes(8).toString('hex')}`;
    const carol = await t.user(name('carol'));
    const plain = await alice.client.createPrivateChat({ userId: carol.id });
    await alice.client.sendMessage({ chatId: plain.id, clientMessageId: 'control', text: control });
    const stored = serverBytes();
    expect(stored).toContain(control);
    expect(stored).not.toContain(canary);
  });

  it('resolves sends racing commits by the epoch compare-and-swap: a stale send is encrypted again after catching up, none lost or read twice', async () => {
    const { a1, b1, chatId, devices, chats } = await pair();
    const bobChat = b1.chat(chatId);
    // Alice's device moves the group on three times; Bob's has not seen it when it sends.
    for (let i = 0; i < 3; i++) await a1.chat(chatId).update();
    const epochBefore = Number(bobChat.group!.epoch);
    const sends = await Promise.all([1, 2, 3, 4, 5].map((i) => bobChat.send(`bob ${i}`)));
    expect(Number(bobChat.group!.epoch)).toBe(epochBefore + 3);
    expect(new Set(sends.map((m) => m.seq)).size).toBe(5);
    await Promise.all(devices.map((d) => d.sync()));
    for (const c of chats) expect(texts(c).sort()).toEqual(['bob 1', 'bob 2', 'bob 3', 'bob 4', 'bob 5']);
    // Each reached the others exactly once, at its own position.
    for (const c of chats) expect(c.timeline().map((m) => m.seq)).toEqual(sends.map((m) => m.seq).sort((x, y) => x - y));

    // Two devices committing at one epoch: one wins, the other catches up and commits on top.
    await Promise.all([a1.chat(chatId).update(), bobChat.update()]);
    await Promise.all(devices.map((d) => d.sync()));
    const epochs = new Set(chats.map((c) => Number(c.group!.epoch)));
    expect(epochs.size).toBe(1);
    await a1.chat(chatId).send('after both');
    await Promise.all(devices.map((d) => d.sync()));
    for (const c of chats.slice(1)) expect(texts(c).at(-1)).toBe('after both');
  });

  it('takes no message into a group that still holds an ended device until a member commits its removal; the removed device reads nothing after', async () => {
    const { bob, a2, b1, chatId, devices, chats } = await pair();
    const removedState = a2.device.chat(chatId).group!;
    await a2.client.logout();

    // A send made by hand at the current epoch is refused, and writes nothing.
    const bobChat = b1.chat(chatId);
    const before = (await bob.client.getChat({ chatId })).lastSeq;
    const { group, message } = await b1.mls.encrypt(bobChat.group!, new TextEncoder().encode('{"v":1,"text":"too soon"}'));
    bobChat.group = group;
    const refused = await fail(
      bob.client.sendMessage({ chatId, clientMessageId: 'too-soon', mls: { epoch: Number(group.epoch), ciphertext: toBase64(message) } }),
    );
    expect([refused.status, refused.code]).toEqual([409, 'mls_commit_required']);
    expect(refused.message).toContain(a2.device.deviceId);
    expect((await bob.client.getChat({ chatId })).lastSeq).toBe(before);

    // The engine commits the removal first, then sends.
    const sent = await bobChat.send('after the logout');
    const { events } = await bob.client.getChanges({ userSeq: 0, chats: { [chatId]: before } });
    const log = events.filter((e) => e.log === 'chat' && e.chatId === chatId);
    expect(log.map((e) => e.type)).toEqual(['mls.commit', 'message.created']);
    const removal = log[0]!.log === 'chat' ? log[0]!.mls! : undefined;
    expect(removal?.removedDevices).toEqual([{ userId: a2.device.userId, deviceId: a2.device.deviceId }]);
    expect(sent.seq).toBe(before + 2);

    await Promise.all([devices[0]!, devices[2]!].map((d) => d.sync()));
    expect(texts(chats[0]!).at(-1)).toBe('after the logout');
    for (const c of [chats[0]!, chats[2]!]) expect(c.group!.members().map((m) => m.deviceId)).not.toContain(a2.device.deviceId);

    // The removed device's last state processes its removal and cannot read what follows.
    const processed = await a2.device.mls.process(removedState, fromBase64(removal!.payload));
    expect(processed.group.active).toBe(false);
    await expect(a2.device.mls.process(processed.group, fromBase64(sent.mls!.ciphertext))).rejects.toThrow();
  });

  it('edits by a new encrypted message naming the original; deleting purges the ciphertexts of both', async () => {
    const { alice, bob, a1, b1, chatId, devices, chats } = await pair();
    const original = await a1.chat(chatId).send('first version');
    const edit = await a1.chat(chatId).send('second version', { editOf: original.id });
    expect(edit.mls?.editOf).toBe(original.id);
    await Promise.all(devices.map((d) => d.sync()));
    for (const c of chats.slice(1)) {
      expect(c.timeline().map((m) => [m.id, m.text, m.editedAt !== null])).toEqual([[original.id, 'second version', true]]);
    }
    const reply = await b1.chat(chatId).send('a reply', { replyToId: original.id });
    expect(reply.replyToId).toBe(original.id);

    // Only the sender edits; an edit replaces an encrypted message that is not itself an edit.
    const bobChat = b1.chat(chatId);
    const attempt = async (editOf: string) => {
      const { group, message } = await b1.mls.encrypt(bobChat.group!, new TextEncoder().encode('{"v":1,"text":"x"}'));
      bobChat.group = group;
      return fail(
        bob.client.sendMessage({ chatId, clientMessageId: `e-${editOf}`, mls: { epoch: Number(group.epoch), ciphertext: toBase64(message), editOf } }),
      );
    };
    expect((await attempt(original.id)).code).toBe('forbidden');
    const replyEdit = await b1.chat(chatId).send('a reply, edited', { editOf: reply.id });
    expect((await attempt(replyEdit.id)).code).toBe('invalid_request');

    await alice.client.deleteMessage({ chatId, messageId: original.id });
    const db = t.server.ctx.db.kysely;
    const rows = await db.selectFrom('messages').select(['id', 'ciphertext', 'deleted_at']).where('id', 'in', [original.id, edit.id]).execute();
    expect(rows.map((r) => [r.ciphertext, r.deleted_at !== null])).toEqual([
      [null, true],
      [null, true],
    ]);
    const page = await bob.client.listMessages({ chatId });
    expect(page.messages.find((m) => m.id === original.id)).toMatchObject({ deletedAt: expect.any(String), text: null });
    expect(page.messages.find((m) => m.id === original.id)?.mls).toBeUndefined();
    await Promise.all(devices.map((d) => d.sync()));
    expect(chats[2]!.timeline().find((m) => m.id === original.id)).toMatchObject({ text: null, deleted: true });
  });

  it('refuses, writing nothing: text into an encrypted chat, ciphertext into a plaintext one, bad framing, a stale or misdeclared epoch, and devices outside the group', async () => {
    const { alice, bob, a1, b1, chatId } = await pair();
    const bobChat = b1.chat(chatId);
    const seal = async () => {
      const { group, message } = await b1.mls.encrypt(bobChat.group!, new TextEncoder().encode('{"v":1,"text":"x"}'));
      bobChat.group = group;
      return { epoch: Number(group.epoch), ciphertext: toBase64(message) };
    };
    const before = (await bob.client.getChat({ chatId })).lastSeq;
    const send = (body: Record<string, unknown>, client = bob.client) =>
      fail(client.sendMessage({ chatId, clientMessageId: `r${++n}`, ...body } as Parameters<ParleyClient['sendMessage']>[0]));

    expect((await send({ text: 'plaintext' })).code).toBe('e2ee_required');
    const sealed = await seal();
    expect((await send({ text: 'both', mls: sealed })).code).toBe('invalid_request');
    expect((await send({ mls: { epoch: sealed.epoch, ciphertext: toBase64(randomBytes(64)) } })).code).toBe('mls_message_invalid');
    expect((await send({ mls: { ...sealed, epoch: sealed.epoch + 1 } })).code).toBe('mls_message_invalid');
    await a1.chat(chatId).update();
    const stale = await send({ mls: await seal() });
    await b1.sync();
    expect([stale.status, stale.code]).toEqual([409, 'mls_epoch_conflict']);
    // Another chat's group: the framing names the wrong group.
    const other = await pair();
    const foreign = await other.b1.mls.encrypt(other.b1.chat(other.chatId).group!, new TextEncoder().encode('{"v":1,"text":"x"}'));
    other.b1.chat(other.chatId).group = foreign.group;
    expect((await send({ mls: { epoch: Number(foreign.group.epoch), ciphertext: toBase64(foreign.message) } })).code).toBe('mls_message_invalid');
    expect((await bob.client.getChat({ chatId })).lastSeq).toBe(before + 1);

    // Ciphertext into a chat that is not encrypted.
    const carol = await t.user(name('carol'));
    const plain = await bob.client.createPrivateChat({ userId: carol.id });
    const notE2ee = await fail(bob.client.sendMessage({ chatId: plain.id, clientMessageId: 'c1', mls: sealed }));
    expect([notE2ee.status, notE2ee.code]).toEqual([409, 'not_e2ee']);
    expect((await bob.client.getChat({ chatId: plain.id })).lastSeq).toBe(0);

    // A session that is no device, and a device not (yet) in the group.
    const bare = t.client();
    await bare.login({ username: bob.username, password: bob.password, deviceName: 'bare' });
    expect((await send({ mls: await seal() }, bare)).code).toBe('device_not_active');
    const late = await secondDevice(bob, b1);
    const lateSend = await send({ mls: await seal() }, late.client);
    expect([lateSend.status, lateSend.code]).toEqual([403, 'mls_not_in_group']);
    expect((await alice.client.getChat({ chatId })).lastSeq).toBe(before + 1);
  });

  it('a device approved later joins by external commit, and one that lost its state rejoins the same way; what came before is labelled, not an error', async () => {
    const { bob, a1, b1, chatId, devices } = await pair();
    await a1.chat(chatId).send('before the new phone');
    const late = await secondDevice(bob, b1);
    const lateChat = late.device.chat(chatId);
    await late.device.sync();
    await lateChat.start();
    expect(lateChat.timeline().map((m) => [m.text, m.problem])).toEqual([[null, 'before_join']]);
    await a1.chat(chatId).send('after the new phone');
    await Promise.all([...devices, late.device].map((d) => d.sync()));
    expect(texts(lateChat).at(-1)).toBe('after the new phone');
    expect(
      a1
        .chat(chatId)
        .group!.members()
        .map((m) => m.deviceId),
    ).toContain(late.device.deviceId);

    // Its state gone, the same device replaces its own leaf: the group keeps four leaves, not five.
    lateChat.group = undefined;
    await lateChat.start();
    await Promise.all(devices.map((d) => d.sync()));
    expect(a1.chat(chatId).group!.members()).toHaveLength(4);
    await b1.chat(chatId).send('after the resync');
    await Promise.all([a1, late.device].map((d) => d.sync()));
    expect(texts(lateChat).at(-1)).toBe('after the resync');
    expect(texts(a1.chat(chatId)).at(-1)).toBe('after the resync');
  });

  it('saved messages are a group of the user\u2019s own devices', async () => {
    const alice = await t.user(name('alice'));
    const a1 = await E2eeDevice.setUp(alice.client);
    const a2 = await secondDevice(alice, a1);
    const self = (await alice.client.listChats()).chats.find((c) => c.kind === 'self')!;
    await a1.chat(self.id).start();
    await a2.device.sync();
    await a1.chat(self.id).send('a note to myself');
    await a2.device.sync();
    expect(texts(a2.device.chat(self.id))).toEqual(['a note to myself']);
  });

  it('the database itself refuses plaintext in an encrypted chat or an encrypted message, below the send path', async () => {
    const { alice, a1, chatId } = await pair();
    const sent = await a1.chat(chatId).send('encrypted');
    const db = t.server.ctx.db.kysely;
    const row = await db.selectFrom('messages').selectAll().where('id', '=', sent.id).executeTakeFirstOrThrow();
    await expect(db.updateTable('messages').set({ text: 'in clear' }).where('id', '=', sent.id).execute()).rejects.toThrow(/e2ee_plaintext/);
    await expect(db.updateTable('messages').set({ attachments: '[]' }).where('id', '=', sent.id).execute()).rejects.toThrow(/e2ee_plaintext/);
    await expect(
      db
        .insertInto('messages')
        .values({ ...row, id: `${row.id}x`, seq: 999, client_message_id: 'by-hand', kind: 'text', text: 'in clear', ciphertext: null })
        .execute(),
    ).rejects.toThrow(/e2ee_plaintext/);
    // A plaintext chat takes text as ever, and an encrypted message without text is fine.
    const carol = await t.user(name('carol'));
    const plain = await alice.client.createPrivateChat({ userId: carol.id });
    await alice.client.sendMessage({ chatId: plain.id, clientMessageId: 'p', text: 'in clear' });
    expect((await db.selectFrom('messages').select('text').where('id', '=', sent.id).executeTakeFirstOrThrow()).text).toBe('');
  });

  describe('against a server that rewrites what it stores', () => {
    it('a message attributed to someone else, or an edit or reply pointed at another message, is detected and not shown', async () => {
      const { a1, b1, chatId } = await pair();
      const db = t.server.ctx.db.kysely;
      const first = await a1.chat(chatId).send('first');
      const second = await a1.chat(chatId).send('second');
      const reattributed = await a1.chat(chatId).send('said by alice');
      const edit = await a1.chat(chatId).send('first, edited', { editOf: first.id });
      const reply = await a1.chat(chatId).send('a reply to first', { replyToId: first.id });
      await db.updateTable('messages').set({ sender_id: b1.userId }).where('id', '=', reattributed.id).execute();
      await db.updateTable('messages').set({ edit_of: second.id }).where('id', '=', edit.id).execute();
      await db.updateTable('messages').set({ reply_to_id: second.id }).where('id', '=', reply.id).execute();
      await b1.sync();
      const seen = new Map(
        b1
          .chat(chatId)
          .timeline()
          .map((m) => [m.id, m]),
      );
      expect(seen.get(reattributed.id)).toMatchObject({ text: null, problem: 'sender_mismatch' });
      expect(seen.get(reply.id)).toMatchObject({ text: null, problem: 'metadata_mismatch' });
      // The re-targeted edit changes neither message.
      expect([seen.get(first.id)?.text, seen.get(second.id)?.text]).toEqual(['first', 'second']);
    });

    it('a device the server makes active without a certificate from its owner\u2019s key is refused: no group is made with it', async () => {
      const alice = await t.user(name('alice'));
      const bob = await t.user(name('bob'));
      await E2eeDevice.setUp(alice.client);
      const b1 = await E2eeDevice.setUp(bob.client);
      // A ghost device of Alice's, certified by a key that is not hers, made active by the server.
      const ghost = t.client();
      await ghost.login({ username: alice.username, password: alice.password, deviceName: 'ghost' });
      const forger = await generateAik();
      const mls = await createMls({ validator: { validate: async () => true } });
      const keys = await mls.generateSignatureKeyPair();
      const cert = encodeDeviceCert(await signDeviceCert(forger, { userId: alice.id, deviceId: ghost.session!.sessionId, signatureKey: keys.publicKey }));
      await ghost.registerDevice({ signaturePublicKey: toBase64(keys.publicKey), cert: toBase64(cert) });
      await t.server.ctx.db.kysely
        .updateTable('devices')
        .set({ status: 'active', cert: Buffer.from(cert) })
        .where('id', '=', ghost.session!.sessionId)
        .execute();
      const kp = await mls.createKeyPackage({ certificate: cert, signatureKeyPair: keys });
      await ghost.uploadKeyPackages({ keyPackages: [toBase64(kp.encoded)] });

      const chat = await bob.client.createPrivateChat({ userId: alice.id });
      const refused = await b1
        .chat(chat.id)
        .start()
        .then(
          () => undefined,
          (e: Error) => e,
        );
      expect(refused).toMatchObject({ name: 'E2eeError', message: expect.stringContaining('validate credential') });
      expect((await bob.client.getChat({ chatId: chat.id })).lastSeq).toBe(0);
    });
  });
});
