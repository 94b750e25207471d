import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_AVATAR_BYTES, type ParleyError } from '@parley/sdk';
import { uploadFile } from '@parley/sdk/node';
import { collectFiles } from '../src/modules/files/collect.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

// Any bytes do: the server checks the declared type and the size, and never decodes a picture.
const picture = (label: string) => Buffer.from(`RIFF....WEBPVP8 ${label}`);

describe.each(await stores())('profile pictures on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  let offset = 0;
  const name = (base: string) => `${base}${++n}`;
  const refCount = async (fileId: string) =>
    (await t.server.ctx.db.kysely.selectFrom('files').select(['ref_count', 'state']).where('id', '=', fileId).executeTakeFirst()) ?? null;
  const upload = (user: TestUser, label: string, mimeType = 'image/webp') => uploadFile(user.client, picture(label), { name: `${label}.webp`, mimeType });

  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_LOGIN_LIMIT: '1000/60s', PARLEY_MESSAGE_RATE: '10000/10s' }, { now: () => Date.now() + offset });
  });
  afterAll(async () => t?.close());

  it('a user sets, replaces and removes their picture; others see and download it; the replaced one is collected', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const first = await upload(alice, 'first');
    const me = await alice.client.updateMe({ avatarFileId: first.fileId });
    expect(me.avatarFileId).toBe(first.fileId);
    expect((await bob.client.getUser({ userId: alice.id })).avatarFileId).toBe(first.fileId);
    // Anyone signed in may look the account up, so may see its picture.
    expect(await (await bob.client.downloadFile(first.fileId)).text()).toBe(picture('first').toString());
    expect(await refCount(first.fileId)).toEqual({ ref_count: 1, state: 'ready' });

    const second = await upload(alice, 'second');
    await alice.client.updateMe({ avatarFileId: second.fileId });
    expect(await refCount(first.fileId)).toMatchObject({ ref_count: 0 });
    expect(await refCount(second.fileId)).toMatchObject({ ref_count: 1 });
    // Setting the same picture again takes no second reference.
    await alice.client.updateMe({ avatarFileId: second.fileId });
    expect(await refCount(second.fileId)).toMatchObject({ ref_count: 1 });
    // The replaced picture is no longer readable by others, and goes after the grace; the current one stays.
    expect((await fail(bob.client.downloadFile(first.fileId))).status).toBe(404);
    offset = 2 * 86_400_000;
    try {
      await collectFiles(t.server.ctx);
    } finally {
      offset = 0;
    }
    expect(await refCount(first.fileId)).toBeNull();
    expect(await refCount(second.fileId)).toMatchObject({ ref_count: 1, state: 'ready' });
    expect((await bob.client.downloadFile(second.fileId)).status).toBe(200);

    expect((await alice.client.updateMe({ avatarFileId: null })).avatarFileId).toBeNull();
    expect(await refCount(second.fileId)).toMatchObject({ ref_count: 0 });
    expect((await bob.client.getUser({ userId: alice.id })).avatarFileId).toBeNull();
  });

  it('refuses what cannot be a picture, changing nothing', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const kept = await upload(alice, 'kept');
    const before = await alice.client.updateMe({ avatarFileId: kept.fileId });

    const text = await upload(alice, 'text', 'text/html');
    const notImage = await fail(alice.client.updateMe({ avatarFileId: text.fileId, displayName: 'Changed' }));
    expect([notImage.status, notImage.code]).toEqual([400, 'invalid_request']);
    const big = await uploadFile(alice.client, Buffer.alloc(MAX_AVATAR_BYTES + 1), { name: 'big.png', mimeType: 'image/png' });
    expect((await fail(alice.client.updateMe({ avatarFileId: big.fileId }))).code).toBe('file_too_large');
    const bobs = await upload(bob, 'bobs');
    expect((await fail(alice.client.updateMe({ avatarFileId: bobs.fileId }))).status).toBe(410);
    expect((await fail(alice.client.updateMe({ avatarFileId: 'f_missing' }))).status).toBe(410);

    // Nothing of the refused changes was written, the display name sent with one included.
    const me = await alice.client.getMe();
    expect([me.avatarFileId, me.displayName]).toEqual([kept.fileId, before.displayName]);
    for (const id of [text.fileId, big.fileId, bobs.fileId]) expect(await refCount(id)).toMatchObject({ ref_count: 0 });
    expect(await refCount(kept.fileId)).toMatchObject({ ref_count: 1 });
  });

  it("a group's picture: admins set it, members see it through the log and download it, others get 404", async () => {
    const [alice, bob, eve] = await t.users(name('alice'), name('bob'), name('eve'));
    const group = await alice.client.createGroup({ title: 'Pictured', memberIds: [bob.id] });
    const file = await upload(alice, 'group');
    const since = (await bob.client.getChat({ chatId: group.id })).lastSeq;

    // Bob is a plain member: he may not change it.
    const bobs = await upload(bob, 'bobs-group');
    expect((await fail(bob.client.updateChat({ chatId: group.id, avatarFileId: bobs.fileId }))).status).toBe(403);
    expect(await refCount(bobs.fileId)).toMatchObject({ ref_count: 0 });

    const chat = await alice.client.updateChat({ chatId: group.id, avatarFileId: file.fileId });
    expect(chat.avatarFileId).toBe(file.fileId);
    const { events } = await bob.client.getChanges({ userSeq: 0, chats: { [group.id]: since } });
    expect(events.find((e) => e.type === 'chat.updated')).toMatchObject({ chatId: group.id, avatarFileId: file.fileId, actorId: alice.id });
    expect((await bob.client.listChats()).chats.find((c) => c.id === group.id)?.avatarFileId).toBe(file.fileId);
    expect((await bob.client.downloadFile(file.fileId)).status).toBe(200);
    const missing = await fail(eve.client.downloadFile('f_nothing_here'));
    const notMember = await fail(eve.client.downloadFile(file.fileId));
    expect([notMember.status, notMember.code, notMember.message]).toEqual([404, missing.code, missing.message.replace('f_nothing_here', file.fileId)]);

    // Private chats show the peer's picture and have none of their own.
    const dm = await alice.client.createPrivateChat({ userId: bob.id });
    const other = await upload(alice, 'dm');
    expect((await fail(alice.client.updateChat({ chatId: dm.id, avatarFileId: other.fileId }))).status).toBe(400);
    expect(await refCount(other.fileId)).toMatchObject({ ref_count: 0 });
  });

  it("deleting an account drops its picture's reference, and nobody can read it any more", async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const file = await upload(alice, 'leaving');
    await alice.client.updateMe({ avatarFileId: file.fileId });
    await alice.client.deleteAccount({ password: alice.password });
    expect((await bob.client.getUser({ userId: alice.id })).avatarFileId).toBeNull();
    expect((await fail(bob.client.downloadFile(file.fileId))).status).toBe(404);
    expect(await refCount(file.fileId)).toMatchObject({ ref_count: 0 });
  });

  it('concurrent changes of one picture leave exactly one reference', async () => {
    const [alice] = await t.users(name('alice'));
    const files = await Promise.all(['a', 'b', 'c', 'd'].map((l) => upload(alice, l)));
    await Promise.all(files.map((f) => alice.client.updateMe({ avatarFileId: f.fileId })));
    const current = (await alice.client.getMe()).avatarFileId;
    const counts = await Promise.all(files.map(async (f) => (await refCount(f.fileId))!.ref_count));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
    expect(counts[files.findIndex((f) => f.fileId === current)]).toBe(1);
  });
});
