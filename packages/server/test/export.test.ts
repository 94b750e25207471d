import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyError } from '@parley/sdk';
import { E2eeDevice } from '@parley/sdk/e2ee';
import { uploadFile } from '@parley/sdk/node';
import { collectFiles } from '../src/modules/files/collect.ts';
import { startTestServer, stores, unzipResponse, type TestServer, type TestUser } from './_harness.ts';
import { b64, deviceCert, deviceKeys, identityKey, makeKeyPackage } from './_mls.ts';

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

const json = (entries: Map<string, Buffer>, name: string) => {
  const entry = entries.get(name);
  if (!entry) throw new Error(`${name} is not in the zip (it has ${[...entries.keys()].join(', ')})`);
  return JSON.parse(entry.toString('utf8'));
};

/** Everything in the zip as one text, to look for what must not be there. */
const allText = (entries: Map<string, Buffer>) => [...entries.values()].map((b) => b.toString('utf8')).join('\n');

describe.each(await stores())('data export on %s', (kind) => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let admin: TestUser;
  let n = 0;
  const id = () => `m${++n}`;

  /** An account registered with an admin invite. */
  async function adminUser(name: string): Promise<TestUser> {
    const client = t.client();
    const password = `pw-${name}-secret`;
    const me = await client.register({ inviteCode: await t.invite({ admin: true }), username: name, password, displayName: 'The Admin' });
    const session = await client.login({ username: name, password, deviceName: `${name}-device` });
    return { id: me.id, username: me.username, password, client, session };
  }

  // What alice wrote, and what she must find in her export.
  const fileBytes = randomBytes(300 * 1024);
  let groupId: string;
  let privateId: string;
  let selfId: string;
  let fileId: string;
  let droppedFileId: string;
  let bobSeq: number;

  beforeAll(async () => {
    t = await startTestServer(kind);
    [alice, bob] = await t.users('alice', 'bob');
    admin = await adminUser('boss');
    const group = await alice.client.createGroup({ title: 'Climbing club', memberIds: [bob.id] });
    groupId = group.id;
    privateId = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    selfId = (await alice.client.listChats()).chats.find((c) => c.kind === 'self')!.id;

    await alice.client.sendMessage({ chatId: groupId, clientMessageId: id(), text: 'Hello climbers' });
    const bobs = await bob.client.sendMessage({ chatId: groupId, clientMessageId: id(), text: 'Bob private words 7f3a' });
    bobSeq = bobs.seq;
    const edited = await alice.client.sendMessage({ chatId: groupId, clientMessageId: id(), text: 'Meet at 9' });
    await alice.client.editMessage({ chatId: groupId, messageId: edited.id, text: 'Meet at 10' });
    const gone = await alice.client.sendMessage({ chatId: groupId, clientMessageId: id(), text: 'Deleted words 91bc' });
    await alice.client.deleteMessage({ chatId: groupId, messageId: gone.id });
    await alice.client.sendMessage({ chatId: groupId, clientMessageId: id(), text: 'Agreed', replyToId: bobs.id });

    fileId = (await uploadFile(alice.client, fileBytes, { name: 'route map.png', mimeType: 'image/png' })).fileId;
    await alice.client.sendMessage({
      chatId: privateId,
      clientMessageId: id(),
      text: 'The map',
      attachments: [{ fileId, name: 'route map.png', mimeType: 'image/png' }],
    });
    // A file sent in a message that was deleted is not in use any more.
    droppedFileId = (await uploadFile(alice.client, Buffer.from('dropped'), { name: 'dropped.txt', mimeType: 'text/plain' })).fileId;
    const dropped = await alice.client.sendMessage({
      chatId: privateId,
      clientMessageId: id(),
      attachments: [{ fileId: droppedFileId, name: 'dropped.txt', mimeType: 'text/plain' }],
    });
    await alice.client.deleteMessage({ chatId: privateId, messageId: dropped.id });
    await bob.client.sendMessage({ chatId: privateId, clientMessageId: id(), text: 'Bob private reply 44d0' });
    await alice.client.sendMessage({ chatId: selfId, clientMessageId: id(), text: 'Note to self' });
  });
  afterAll(async () => t?.close());

  it('exportMyData is a zip of my profile, chats, own messages and live files, and nothing of others but names', async () => {
    const res = await alice.client.exportMyData();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="parley-alice-\d{4}-\d{2}-\d{2}\.zip"$/);
    const zip = await unzipResponse(res);
    const filePath = `files/${fileId}-route map.png`;
    expect([...zip.keys()].sort()).toEqual(
      [
        'README.txt',
        'profile.json',
        'chats.json',
        `messages/${groupId}.json`,
        `messages/${groupId}.txt`,
        `messages/${privateId}.json`,
        `messages/${privateId}.txt`,
        `messages/${selfId}.json`,
        `messages/${selfId}.txt`,
        filePath,
      ].sort(),
    );
    expect(zip.get('README.txt')!.toString()).toContain('profile.json');

    const profile = json(zip, 'profile.json');
    expect(profile.profile).toMatchObject({ id: alice.id, username: 'alice', displayName: 'Alice', isAdmin: false, picture: null });
    expect(profile.settings).toEqual({ addPolicy: 'everyone' });
    expect(profile.sessions).toHaveLength(1);
    expect(Object.keys(profile.sessions[0]).sort()).toEqual(['createdAt', 'deviceName', 'id', 'ip', 'lastActiveAt', 'userAgent']);
    expect(profile.sessions[0].deviceName).toBe('alice-device');

    const chats = json(zip, 'chats.json');
    const byId = new Map<string, any>(chats.map((c: any) => [c.id, c]));
    expect(chats).toHaveLength(3);
    expect(byId.get(groupId)).toMatchObject({
      kind: 'group',
      title: 'Climbing club',
      role: 'owner',
      messageCount: 3,
      messages: { json: `messages/${groupId}.json`, text: `messages/${groupId}.txt` },
    });
    // Members who joined in the same millisecond come in id order: compared by name here.
    expect([...byId.get(groupId).members].sort((a: any, b: any) => a.username.localeCompare(b.username))).toEqual([
      { displayName: 'Alice', username: 'alice', role: 'owner' },
      { displayName: 'Bob', username: 'bob', role: 'member' },
    ]);
    expect(byId.get(privateId)).toMatchObject({ kind: 'private', title: 'Bob', role: 'member', messageCount: 1 });
    expect(byId.get(selfId)).toMatchObject({ kind: 'self', title: 'Saved messages', messageCount: 1 });

    const group = json(zip, `messages/${groupId}.json`);
    expect(group.chat).toEqual({ id: groupId, kind: 'group', title: 'Climbing club' });
    expect(group.messages.map((m: any) => m.text)).toEqual(['Hello climbers', 'Meet at 10', 'Agreed']);
    expect(group.messages[0].editedAt).toBeNull();
    expect(group.messages[1].editedAt).toEqual(expect.any(String));
    expect(group.messages[2].replyTo).toEqual({ id: expect.any(String), seq: bobSeq });
    const text = zip.get(`messages/${groupId}.txt`)!.toString();
    expect(text).toContain('Meet at 10');
    expect(text).toMatch(/edited \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(text).toContain(`reply to #${bobSeq}`);

    const priv = json(zip, `messages/${privateId}.json`);
    expect(priv.messages).toHaveLength(1);
    expect(priv.messages[0]).toMatchObject({
      text: 'The map',
      attachments: [{ name: 'route map.png', mimeType: 'image/png', size: fileBytes.length, file: filePath }],
    });
    expect(Buffer.compare(zip.get(filePath)!, fileBytes)).toBe(0);

    // Neither what others wrote nor what alice deleted.
    const everything = allText(zip);
    for (const absent of ['Bob private words 7f3a', 'Bob private reply 44d0', 'Deleted words 91bc', 'Meet at 9', droppedFileId, bob.password])
      expect(everything).not.toContain(absent);
    for (const secret of [alice.session.accessToken, alice.session.refreshToken, alice.password]) expect(everything).not.toContain(secret);
  });

  it('the OpenAPI document gives the exports as application/zip answers', async () => {
    const doc = await (await fetch(`${t.url}/api/v1/openapi.json`)).json();
    for (const [p, op] of [
      ['/api/v1/me/export', 'exportMyData'],
      ['/api/v1/admin/users/{userId}/export', 'exportUserData'],
    ]) {
      expect(doc.paths[p!].get.operationId).toBe(op);
      expect(Object.keys(doc.paths[p!].get.responses['200'].content)).toEqual(['application/zip']);
    }
    expect(doc.paths['/api/v1/admin/users/{userId}/delete'].post.operationId).toBe('deleteUserData');
  });

  it('a file that cannot be read cuts the download: no zip that looks whole', async () => {
    const hal = await t.user('hal');
    const self = (await hal.client.listChats()).chats.find((c) => c.kind === 'self')!;
    const { fileId: lost } = await uploadFile(hal.client, randomBytes(200 * 1024), { name: 'lost.bin', mimeType: 'application/octet-stream' });
    await hal.client.sendMessage({
      chatId: self.id,
      clientMessageId: id(),
      attachments: [{ fileId: lost, name: 'lost.bin', mimeType: 'application/octet-stream' }],
    });
    // The blob goes behind the server's back (a disk fault, a bucket emptied by hand).
    await t.server.ctx.blobs.delete(lost);
    const res = await hal.client.exportMyData();
    expect(res.status).toBe(200);
    await expect(unzipResponse(res)).rejects.toThrow();
  });

  it('my profile picture is in the export, and profile.json names its path', async () => {
    const ivy = await t.user('ivy');
    const face = randomBytes(2048);
    const { fileId: pic } = await uploadFile(ivy.client, face, { name: 'face.png', mimeType: 'image/png' });
    await ivy.client.updateMe({ avatarFileId: pic });
    const zip = await unzipResponse(await ivy.client.exportMyData());
    expect(json(zip, 'profile.json').profile.picture).toBe(`files/${pic}-face.png`);
    expect(Buffer.compare(zip.get(`files/${pic}-face.png`)!, face)).toBe(0);
  });

  it('an end-to-end encrypted chat is listed with the plaintext written before its group; its encrypted messages are not in the export', async () => {
    const [eve, finn] = await t.users('eve', 'finn');
    const chat = await eve.client.createPrivateChat({ userId: finn.id });
    await eve.client.sendMessage({ chatId: chat.id, clientMessageId: id(), text: 'Said in the clear' });
    const device = await E2eeDevice.setUp(eve.client);
    await E2eeDevice.setUp(finn.client);
    await device.chat(chat.id).start();
    await device.chat(chat.id).send('Sealed words 5e21');
    expect((await eve.client.listMessages({ chatId: chat.id })).messages.map((m) => m.kind)).toEqual(['text', 'mls']);

    const zip = await unzipResponse(await eve.client.exportMyData());
    expect(json(zip, 'chats.json').find((c: any) => c.id === chat.id).messageCount).toBe(1);
    expect(json(zip, `messages/${chat.id}.json`).messages.map((m: any) => m.text)).toEqual(['Said in the clear']);
    expect(zip.get(`messages/${chat.id}.txt`)!.toString('utf8').match(/^\[/gm)).toHaveLength(1);
  });

  it('exportUserData gives an admin the same zip of another account', async () => {
    const zip = await unzipResponse(await admin.client.exportUserData({ userId: alice.id }));
    expect(json(zip, 'profile.json').profile.username).toBe('alice');
    expect(json(zip, `messages/${groupId}.json`).messages.map((m: any) => m.text)).toEqual(['Hello climbers', 'Meet at 10', 'Agreed']);
    expect(Buffer.compare(zip.get(`files/${fileId}-route map.png`)!, fileBytes)).toBe(0);
  });

  it('the admin operations answer 403 to a user who is not an admin, whoever the target', async () => {
    for (const target of [alice.id, bob.id, 'no-such-user']) {
      expect(await fail(bob.client.exportUserData({ userId: target }))).toMatchObject({ status: 403, code: 'forbidden' });
      expect(await fail(bob.client.deleteUserData({ userId: target }))).toMatchObject({ status: 403, code: 'forbidden' });
    }
    expect((await alice.client.getMe()).username).toBe('alice');
  });

  it('the admin operations answer 404 for an unknown or deleted account', async () => {
    expect(await fail(admin.client.exportUserData({ userId: 'no-such-user' }))).toMatchObject({ status: 404, code: 'not_found' });
    expect(await fail(admin.client.deleteUserData({ userId: 'no-such-user' }))).toMatchObject({ status: 404, code: 'not_found' });
    const gone = await t.user('gone');
    await gone.client.deleteAccount({ password: gone.password });
    expect(await fail(admin.client.exportUserData({ userId: gone.id }))).toMatchObject({ status: 404, code: 'not_found' });
    expect(await fail(admin.client.deleteUserData({ userId: gone.id }))).toMatchObject({ status: 404, code: 'not_found' });
  });

  it('an admin cannot delete their own account through the admin API', async () => {
    expect(await fail(admin.client.deleteUserData({ userId: admin.id }))).toMatchObject({ status: 400, code: 'invalid_request' });
    expect((await admin.client.getMe()).isAdmin).toBe(true);
  });

  it('exports are limited per user: past three an hour, 429 rate_limited with Retry-After', async () => {
    const carol = await t.user('carol');
    for (let i = 0; i < 3; i++) await (await carol.client.exportMyData()).arrayBuffer();
    const err = await fail(carol.client.exportMyData());
    expect(err).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(err.retryAfter).toBeGreaterThan(3000);
    // Another user's budget is their own.
    const zip = await unzipResponse(await bob.client.exportMyData());
    expect(json(zip, 'profile.json').profile.username).toBe('bob');
  });

  it('deleteUserData deletes the account: it cannot sign in, its sessions end, its E2EE identity and device lists go, and its files are collected at the next run', async () => {
    const dave = await t.user('dave');
    // Dave's end-to-end encryption state: an identity with a recovery blob, a device, a device list, KeyPackages.
    const aik = identityKey();
    await dave.client.putIdentity({ publicKey: b64(aik.publicKey), recoveryBlob: b64(randomBytes(80)) });
    const keys = await deviceKeys();
    const cert = deviceCert(aik, { userId: dave.id, deviceId: dave.session.sessionId, signatureKey: keys.publicKey });
    await dave.client.registerDevice({ signaturePublicKey: b64(keys.publicKey), cert: b64(cert) });
    await dave.client.publishDeviceList({ version: 1, data: b64(Buffer.from('signed device list of dave')) });
    await dave.client.uploadKeyPackages({ keyPackages: [(await makeKeyPackage(keys, cert)).data] });
    const e2ee = async () => {
      const db = t.server.ctx.db.kysely;
      const count = async (table: 'identities' | 'device_lists' | 'key_packages') =>
        (await db.selectFrom(table).select('user_id').where('user_id', '=', dave.id).execute()).length;
      const devices = await db.selectFrom('devices').select('status').where('user_id', '=', dave.id).execute();
      return { identities: await count('identities'), deviceLists: await count('device_lists'), keyPackages: await count('key_packages'), devices };
    };
    expect(await e2ee()).toEqual({ identities: 1, deviceLists: 1, keyPackages: 1, devices: [{ status: 'active' }] });
    const chat = await dave.client.createPrivateChat({ userId: bob.id });
    const sent = await uploadFile(dave.client, randomBytes(64 * 1024), { name: 'dave.bin', mimeType: 'application/octet-stream' });
    const msg = await dave.client.sendMessage({
      chatId: chat.id,
      clientMessageId: id(),
      text: 'From dave',
      attachments: [{ fileId: sent.fileId, name: 'dave.bin', mimeType: 'application/octet-stream' }],
    });
    const davesSelf = (await dave.client.listChats()).chats.find((c) => c.kind === 'self')!.id;
    const saved = await uploadFile(dave.client, Buffer.from('saved bytes'), { name: 'saved.txt', mimeType: 'text/plain' });
    await dave.client.sendMessage({
      chatId: davesSelf,
      clientMessageId: id(),
      attachments: [{ fileId: saved.fileId, name: 'saved.txt', mimeType: 'text/plain' }],
    });
    expect((await bob.client.downloadFile(sent.fileId)).status).toBe(200);

    await admin.client.deleteUserData({ userId: dave.id });

    expect(await fail(t.client().login({ username: 'dave', password: dave.password, deviceName: 'again' }))).toMatchObject({ status: 401 });
    expect(await fail(dave.client.getMe())).toMatchObject({ status: 401 });
    // Nothing of the identity, its recovery blob or device lists is left; the device row stays, ended.
    expect(await e2ee()).toEqual({ identities: 0, deviceLists: 0, keyPackages: 0, devices: [{ status: 'ended' }] });
    expect(await fail(bob.client.getIdentity({ userId: dave.id }))).toMatchObject({ status: 404 });
    // The message to bob stays, from a deleted account; its file no longer downloads.
    const page = await bob.client.listMessages({ chatId: chat.id });
    expect(page.messages.find((m) => m.id === msg.id)?.text).toBe('From dave');
    expect(await fail(bob.client.downloadFile(sent.fileId))).toMatchObject({ status: 404 });

    const ctx = t.server.ctx;
    const rows = () => ctx.db.kysely.selectFrom('files').select('id').where('id', 'in', [sent.fileId, saved.fileId]).execute();
    expect(await rows()).toHaveLength(2);
    expect(await ctx.blobs.size(sent.fileId)).not.toBeNull();
    await collectFiles(ctx);
    expect(await rows()).toEqual([]);
    expect(await ctx.blobs.size(sent.fileId)).toBeNull();
    expect(await ctx.blobs.size(saved.fileId)).toBeNull();
    // Others' files are not touched.
    expect(Buffer.compare(Buffer.from(await (await alice.client.downloadFile(fileId)).arrayBuffer()), fileBytes)).toBe(0);
  });
});
