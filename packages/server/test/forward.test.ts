import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ParleyError } from '@parley/sdk';
import { uploadFile } from '@parley/sdk/node';
import { collectFiles } from '../src/modules/files/collect.ts';
import { startTestServer, stores, type TestServer } from './_harness.ts';

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

describe.each(await stores())('forwarding on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => (t = await startTestServer(kind, { PARLEY_WRITE_RATE: '10000/10s', PARLEY_MESSAGE_RATE: '10000/10s', PARLEY_FILE_GRACE: '0' })));
  afterAll(async () => t?.close());

  it('copies the text and names the origin (the first one, through a forward of a forward; the channel title)', async () => {
    const [alice, bob, carol] = await t.users(name('alice'), name('bob'), name('carol'));
    const ab = await alice.client.createPrivateChat({ userId: bob.id });
    const bc = await bob.client.createPrivateChat({ userId: carol.id });
    const source = await alice.client.sendMessage({ chatId: ab.id, clientMessageId: 's', text: 'worth sharing' });
    const fwd = await bob.client.sendMessage({ chatId: bc.id, clientMessageId: 'f', forwardFrom: { chatId: ab.id, messageId: source.id } });
    expect(fwd).toMatchObject({
      text: 'worth sharing',
      senderId: bob.id,
      forwarded: { senderId: alice.id, senderName: expect.stringMatching(new RegExp(`^${alice.username}$`, 'i')), at: source.createdAt },
    });
    expect(fwd.forwarded!.chatTitle).toBeUndefined();
    // A retry with the same client id returns the original forward.
    const again = await bob.client.sendMessage({ chatId: bc.id, clientMessageId: 'f', forwardFrom: { chatId: ab.id, messageId: source.id } });
    expect(again.id).toBe(fwd.id);
    expect((await carol.client.listMessages({ chatId: bc.id })).messages.map((m) => m.forwarded?.senderId)).toEqual([alice.id]);

    const self = (await carol.client.listChats()).chats.find((c) => c.kind === 'self')!;
    const onward = await carol.client.sendMessage({ chatId: self.id, clientMessageId: 'o', forwardFrom: { chatId: bc.id, messageId: fwd.id } });
    expect(onward.forwarded).toEqual(fwd.forwarded);

    const channel = await alice.client.createChannel({ title: 'Daily news', memberIds: [bob.id] });
    const post = await alice.client.sendMessage({ chatId: channel.id, clientMessageId: 'p', text: 'headline' });
    const shared = await bob.client.sendMessage({ chatId: bc.id, clientMessageId: 'c', forwardFrom: { chatId: channel.id, messageId: post.id } });
    expect(shared.forwarded).toMatchObject({ chatTitle: 'Daily news', senderId: alice.id });
    // A forwarded message is not the forwarder's words to edit.
    expect((await fail(bob.client.editMessage({ chatId: bc.id, messageId: shared.id, text: 'changed' }))).status).toBe(403);
  });

  it('forwards only what the sender can read: a stranger, a deleted message, another chat, history before joining are 404', async () => {
    const [alice, bob, eve] = await t.users(name('alice'), name('bob'), name('eve'));
    const ab = await alice.client.createPrivateChat({ userId: bob.id });
    const m = await alice.client.sendMessage({ chatId: ab.id, clientMessageId: 'm', text: 'private' });
    const eveSelf = (await eve.client.listChats()).chats[0]!;
    const stranger = await fail(eve.client.sendMessage({ chatId: eveSelf.id, clientMessageId: 'x', forwardFrom: { chatId: ab.id, messageId: m.id } }));
    expect([stranger.status, stranger.code]).toEqual([404, 'not_found']);
    // The message named in the wrong chat is not found either.
    const group = await alice.client.createGroup({ title: 'G', memberIds: [] });
    const wrongChat = await fail(alice.client.sendMessage({ chatId: ab.id, clientMessageId: 'w', forwardFrom: { chatId: group.id, messageId: m.id } }));
    expect(wrongChat.status).toBe(404);
    const early = await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'e', text: 'before bob' });
    await alice.client.addMembers({ chatId: group.id, userIds: [bob.id] });
    const unseen = await fail(bob.client.sendMessage({ chatId: ab.id, clientMessageId: 'u', forwardFrom: { chatId: group.id, messageId: early.id } }));
    expect(unseen.status).toBe(404);
    await alice.client.deleteMessage({ chatId: ab.id, messageId: m.id });
    const gone = await fail(bob.client.sendMessage({ chatId: ab.id, clientMessageId: 'g', forwardFrom: { chatId: ab.id, messageId: m.id } }));
    expect(gone.status).toBe(404);
    // Text or files beside a forward, or a malformed source, are bad requests; nothing is written.
    const withText = await fail(
      bob.client.sendMessage({ chatId: ab.id, clientMessageId: 't', text: 'and also', forwardFrom: { chatId: group.id, messageId: early.id } }),
    );
    expect([withText.status, withText.code]).toEqual([400, 'invalid_request']);
    const malformed = await fail(bob.client.sendMessage({ chatId: ab.id, clientMessageId: 'b', forwardFrom: { chatId: group.id } as never }));
    expect(malformed.status).toBe(400);
    expect((await bob.client.listMessages({ chatId: ab.id })).messages).toHaveLength(1);
  });

  it('refuses forwarding from or to an end-to-end encrypted chat with 409', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const plain = await alice.client.createGroup({ title: 'Plain', memberIds: [bob.id] });
    const secret = await alice.client.createPrivateChat({ userId: bob.id });
    const fromSecret = await alice.client.sendMessage({ chatId: secret.id, clientMessageId: 's', text: 'sealed' });
    const fromPlain = await alice.client.sendMessage({ chatId: plain.id, clientMessageId: 'p', text: 'open' });
    await t.server.ctx.db.kysely.updateTable('chats').set({ e2ee: 1 }).where('id', '=', secret.id).execute();
    const out = await fail(alice.client.sendMessage({ chatId: plain.id, clientMessageId: 'o', forwardFrom: { chatId: secret.id, messageId: fromSecret.id } }));
    expect([out.status, out.code]).toEqual([409, 'e2ee_required']);
    const into = await fail(alice.client.sendMessage({ chatId: secret.id, clientMessageId: 'i', forwardFrom: { chatId: plain.id, messageId: fromPlain.id } }));
    expect([into.status, into.code]).toEqual([409, 'e2ee_required']);
  });

  it('takes a reference on the forwarded files: they stay readable after the original is deleted and collected', async () => {
    const [alice, bob, carol] = await t.users(name('alice'), name('bob'), name('carol'));
    const ab = await alice.client.createPrivateChat({ userId: bob.id });
    const bc = await bob.client.createPrivateChat({ userId: carol.id });
    const up = await uploadFile(alice.client, Buffer.from('a file to pass on'), { name: 'note.txt', mimeType: 'text/plain' });
    const m = await alice.client.sendMessage({
      chatId: ab.id,
      clientMessageId: 'f',
      attachments: [{ fileId: up.fileId, name: 'note.txt', mimeType: 'text/plain' }],
    });
    // Carol is no member of the source chat: the file is hers to read only through the forward.
    expect((await fail(carol.client.downloadFile(up.fileId))).status).toBe(404);
    const fwd = await bob.client.sendMessage({ chatId: bc.id, clientMessageId: 'fw', forwardFrom: { chatId: ab.id, messageId: m.id } });
    expect(fwd.attachments).toEqual(m.attachments);
    expect(await (await carol.client.downloadFile(up.fileId)).text()).toBe('a file to pass on');

    await alice.client.deleteMessage({ chatId: ab.id, messageId: m.id });
    await collectFiles(t.server.ctx);
    const file = await t.server.ctx.db.kysely.selectFrom('files').select(['state', 'ref_count']).where('id', '=', up.fileId).executeTakeFirstOrThrow();
    expect([file.state, Number(file.ref_count)]).toEqual(['ready', 1]);
    expect(await (await carol.client.downloadFile(up.fileId)).text()).toBe('a file to pass on');

    // Once the forward goes too, nothing references the file and the collector takes it.
    await bob.client.deleteMessage({ chatId: bc.id, messageId: fwd.id });
    await collectFiles(t.server.ctx);
    expect((await fail(carol.client.downloadFile(up.fileId))).status).toBe(404);
  });
});
