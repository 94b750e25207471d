import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Invite } from '@parley/sdk';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

describe.each(await stores())('who used an invite on %s', (kind) => {
  let t: TestServer;
  let admin: TestUser;
  let alice: TestUser;

  beforeAll(async () => {
    t = await startTestServer(kind);
    const client = t.client();
    const password = 'admin password 1';
    const me = await client.register({ inviteCode: await t.invite({ admin: true }), username: 'root', password, displayName: 'Root' });
    const session = await client.login({ username: 'root', password, deviceName: 'root-device' });
    admin = { id: me.id, username: me.username, password, client, session };
    alice = await t.user('alice');
  });
  afterAll(async () => t?.close());

  /** Registers `username` with `code` and signs it in. */
  async function registerWith(code: string, username: string) {
    const client = t.client();
    const password = `pw-${username}-secret`;
    const me = await client.register({ inviteCode: code, username, password, displayName: `${username[0]!.toUpperCase()}${username.slice(1)} D.` });
    await client.login({ username, password, deviceName: 'x' });
    return { id: me.id, client, password };
  }

  const find = (invites: Invite[], id: string) => invites.find((i) => i.id === id)!;

  it('lists the accounts registered with an invite, earliest first, to its creator and to the admins', async () => {
    const invite = await alice.client.createInvite({ maxUses: 3 });
    expect(invite.usedBy).toEqual([]);
    const bob = await registerWith(invite.code!, 'bob');
    const carol = await registerWith(invite.code!, 'carol');

    const own = find((await alice.client.listInvites()).invites, invite.id);
    expect(own.uses).toBe(2);
    expect(own.usedBy).toEqual([
      { userId: bob.id, username: 'bob', displayName: 'Bob D.', usedAt: expect.any(String) },
      { userId: carol.id, username: 'carol', displayName: 'Carol D.', usedAt: expect.any(String) },
    ]);
    expect(Date.parse(own.usedBy![0]!.usedAt)).toBeLessThanOrEqual(Date.parse(own.usedBy![1]!.usedAt));
    expect(find((await admin.client.listAllInvites()).invites, invite.id).usedBy).toEqual(own.usedBy);

    // Nobody else sees alice's invite, nor who used it.
    expect((await bob.client.listInvites()).invites.map((i) => i.id)).not.toContain(invite.id);
  });

  it('keeps each invite’s users apart, lists none for an unused one, and counts a refused registration for nobody', async () => {
    const first = await alice.client.createInvite({ maxUses: 1 });
    const second = await alice.client.createInvite({ maxUses: 1 });
    const unused = await alice.client.createInvite({ maxUses: 1 });
    const dan = await registerWith(first.code!, 'dan');
    // Taken username: the registration is refused, and leaves no use behind.
    await expect(t.client().register({ inviteCode: second.code!, username: 'dan', password: 'pw-dan-secret-2', displayName: 'Dan 2' })).rejects.toMatchObject({
      code: 'username_taken',
    });
    const erin = await registerWith(second.code!, 'erin');
    // Used up: refused, recorded for nobody.
    await expect(t.client().register({ inviteCode: first.code!, username: 'frank', password: 'pw-frank-secret', displayName: 'Frank' })).rejects.toMatchObject({
      code: 'invite_used_up',
    });

    const invites = (await alice.client.listInvites()).invites;
    expect(find(invites, first.id).usedBy!.map((u) => u.userId)).toEqual([dan.id]);
    expect(find(invites, second.id).usedBy!.map((u) => u.userId)).toEqual([erin.id]);
    expect(find(invites, unused.id).usedBy).toEqual([]);
  });

  it('shows an account that was deleted afterwards as deleted, still counted', async () => {
    const invite = await alice.client.createInvite({ maxUses: 1 });
    const gus = await registerWith(invite.code!, 'gus');
    await gus.client.deleteAccount({ password: gus.password });
    const [used] = find((await alice.client.listInvites()).invites, invite.id).usedBy!;
    expect(used).toMatchObject({ userId: gus.id, username: null });
  });

  it('lists the users of the operator’s invites to the admins', async () => {
    const code = await t.invite({ uses: 2 });
    const hana = await registerWith(code, 'hana');
    const cliInvite = (await admin.client.listAllInvites()).invites.find((i) => i.usedBy?.some((u) => u.userId === hana.id));
    expect(cliInvite).toMatchObject({ uses: 1, usedBy: [{ userId: hana.id, username: 'hana' }] });
  });
});
