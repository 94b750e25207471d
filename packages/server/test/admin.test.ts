import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient, type ParleyError } from '@parley/sdk';
import { uploadFile } from '@parley/sdk/node';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { createInvite } from '../src/modules/invites/invites.ts';
import { PARLEY_VERSION } from '../src/version.ts';

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

describe.each(await stores())('admin account operations on %s', (kind) => {
  let t: TestServer;
  let admin: TestUser;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;

  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_LOGIN_LIMIT: '1000/60s' });
    const client = t.client();
    const password = 'admin password 1';
    const me = await client.register({ inviteCode: await t.invite({ admin: true }), username: 'root1', password, displayName: 'Root' });
    const session = await client.login({ username: 'root1', password, deviceName: 'root-device' });
    admin = { id: me.id, username: me.username, password, client, session };
  });
  afterAll(async () => t?.close());

  it('lists accounts with their sessions, and signs one out of every device', async () => {
    const bob = await t.user(name('bob'));
    const second = t.client();
    await second.login({ username: bob.username, password: bob.password, deviceName: 'phone' });
    const listed = (await admin.client.listAccounts()).users.find((u) => u.id === bob.id)!;
    expect(listed).toMatchObject({ username: bob.username, isAdmin: false, disabledAt: null, sessions: 2 });
    expect((await admin.client.listAccounts()).users.find((u) => u.id === admin.id)).toMatchObject({ isAdmin: true });

    const sessions = (await admin.client.listAccountSessions({ userId: bob.id })).sessions;
    expect(sessions.map((x) => x.deviceName).sort()).toEqual([`${bob.username}-device`, 'phone']);
    expect(sessions.every((x) => !x.current)).toBe(true);
    expect(JSON.stringify(sessions)).not.toContain(bob.session.accessToken);

    expect(await admin.client.endAccountSessions({ userId: bob.id })).toEqual({ ended: 2 });
    expect((await fail(bob.client.getMe())).status).toBe(401);
    expect((await fail(second.getMe())).status).toBe(401);
    expect((await admin.client.listAccountSessions({ userId: bob.id })).sessions).toEqual([]);
  });

  it('disables an account (its sessions end, it cannot sign in) and enables it again', async () => {
    const carol = await t.user(name('carol'));
    await admin.client.disableAccount({ userId: carol.id });
    expect((await fail(carol.client.getMe())).status).toBe(401);
    const refused = await fail(t.client().login({ username: carol.username, password: carol.password, deviceName: 'x' }));
    expect(refused.code).toBe('account_disabled');
    expect((await admin.client.listAccounts()).users.find((u) => u.id === carol.id)!.disabledAt).not.toBeNull();

    await admin.client.enableAccount({ userId: carol.id });
    const back = t.client();
    await back.login({ username: carol.username, password: carol.password, deviceName: 'x' });
    expect((await back.getMe()).id).toBe(carol.id);
  });

  it('resets a password: the old one stops working, the new one signs in, every session ended', async () => {
    const dave = await t.user(name('dave'));
    const { password } = await admin.client.resetAccountPassword({ userId: dave.id });
    expect(password.length).toBeGreaterThanOrEqual(12);
    expect((await fail(dave.client.getMe())).status).toBe(401);
    expect((await fail(t.client().login({ username: dave.username, password: dave.password, deviceName: 'x' }))).code).toBe('invalid_credentials');
    const fresh = new ParleyClient({ baseUrl: t.url });
    await fresh.login({ username: dave.username, password, deviceName: 'x' });
    expect((await fresh.getMe()).id).toBe(dave.id);
  });

  it('refuses non-admins with 403 whoever the target, unknown accounts with 404, and the admin’s own account with 400, changing nothing', async () => {
    const [eve, frank] = await t.users(name('eve'), name('frank'));
    // Each call made only when its turn comes, so that no refusal waits unhandled.
    const calls = (c: ParleyClient, userId: string) => [
      () => c.listAccounts(),
      () => c.getServerStatus(),
      () => c.listAllInvites(),
      () => c.disableAccount({ userId }),
      () => c.enableAccount({ userId }),
      () => c.resetAccountPassword({ userId }),
      () => c.listAccountSessions({ userId }),
      () => c.endAccountSessions({ userId }),
    ];
    for (const target of [frank.id, 'nobody', admin.id])
      for (const call of calls(eve.client, target)) {
        const e = await fail(call());
        expect([e.status, e.code]).toEqual([403, 'forbidden']);
      }
    for (const call of calls(admin.client, 'nobody').slice(3)) expect((await fail(call())).status).toBe(404);
    for (const call of [
      () => admin.client.disableAccount({ userId: admin.id }),
      () => admin.client.resetAccountPassword({ userId: admin.id }),
      () => admin.client.endAccountSessions({ userId: admin.id }),
    ])
      expect((await fail(call())).status).toBe(400);
    // Nothing above changed anyone.
    expect((await frank.client.getMe()).id).toBe(frank.id);
    expect((await admin.client.getMe()).id).toBe(admin.id);
    expect((await admin.client.listAccounts()).users.find((u) => u.id === frank.id)).toMatchObject({ disabledAt: null, sessions: 1 });
  });

  it('reports the version, the health of store and bus, the limits and how much the server holds', async () => {
    const [gina, hal] = await t.users(name('gina'), name('hal'));
    const before = await admin.client.getServerStatus();
    expect(before).toMatchObject({
      version: PARLEY_VERSION,
      node: t.server.ctx.nodeId,
      store: kind,
      storeUp: true,
      bus: 'in-process',
      busUp: true,
      blobStore: 'local',
    });
    expect(before.limits).toEqual(await gina.client.getLimits());
    const chat = await gina.client.createPrivateChat({ userId: hal.id });
    const file = await uploadFile(gina.client, Buffer.alloc(1000, 1), { name: 'f', mimeType: 'application/octet-stream' });
    await gina.client.sendMessage({
      chatId: chat.id,
      clientMessageId: 'a',
      attachments: [{ fileId: file.fileId, name: 'f', mimeType: 'application/octet-stream' }],
    });
    const after = (await admin.client.getServerStatus()).counts;
    expect(after).toEqual({
      accounts: before.counts.accounts,
      chats: before.counts.chats + 1,
      messages: before.counts.messages + 1,
      files: before.counts.files + 1,
      fileBytes: before.counts.fileBytes + 1000,
    });
  });

  it('lists every invite, whoever made it', async () => {
    const ivy = await t.user(name('ivy'));
    const own = await ivy.client.createInvite({});
    const fromCli = await createInvite(t.server.ctx, null, { maxUses: 3 });
    const ids = (await admin.client.listAllInvites()).invites.map((i) => i.id);
    expect(ids).toEqual(expect.arrayContaining([own.id, fromCli.id]));
    expect((await admin.client.listAllInvites()).invites.every((i) => i.code === undefined)).toBe(true);
    expect((await ivy.client.listInvites()).invites.map((i) => i.id)).not.toContain(fromCli.id);
  });

  it('takes admin rights from the account on every request, not from the session', async () => {
    const [mallory, victim] = await t.users(name('mallory'), name('victim'));
    // An admin whose rights were taken away (here in the database) is refused at once.
    await t.server.ctx.db.kysely.updateTable('users').set({ is_admin: 1 }).where('id', '=', mallory.id).execute();
    expect((await mallory.client.listAccounts()).users.length).toBeGreaterThan(1);
    await t.server.ctx.db.kysely.updateTable('users').set({ is_admin: 0 }).where('id', '=', mallory.id).execute();
    expect((await fail(mallory.client.disableAccount({ userId: victim.id }))).status).toBe(403);
    expect((await victim.client.getMe()).id).toBe(victim.id);
  });
});
