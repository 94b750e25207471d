import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '@parley/sdk';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { eventually, realtimeFor } from './_realtime.ts';

/** A realtime client that also records the profile frames it gets. */
async function listener(user: TestUser) {
  const r = realtimeFor(user);
  const profiles: User[] = [];
  r.rt.on('profile', (u) => profiles.push(u));
  await r.rt.connect();
  return { ...r, profiles };
}

describe.each(await stores())('names and pictures live on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => (t = await startTestServer(kind)));
  afterAll(async () => t?.close());

  it("reaches those who share a private chat or a group with me and my other devices, not a channel's audience or strangers", async () => {
    const [alice, bob, carol, dave, eve] = await t.users(name('alice'), name('bob'), name('carol'), name('dave'), name('eve'));
    await alice.client.createPrivateChat({ userId: bob.id });
    await alice.client.createGroup({ title: 'Group', memberIds: [carol.id] });
    const channel = await alice.client.createChannel({ title: 'News' });
    await alice.client.addMembers({ chatId: channel.id, userIds: [dave.id] });
    const phoneUser = { ...alice, client: t.client() };
    await phoneUser.client.login({ username: alice.username, password: alice.password, deviceName: 'phone' });
    const [b, c, d, e, phone] = await Promise.all([bob, carol, dave, eve, phoneUser].map(listener));
    try {
      await alice.client.updateMe({ displayName: 'Alice Liddell' });
      for (const [who, what] of [
        [b, 'bob'],
        [c, 'carol'],
        [phone, "alice's phone"],
      ] as const)
        await eventually(() => who.profiles.some((u) => u.id === alice.id && u.displayName === 'Alice Liddell'), 3000, `${what} hears the new name`);
      // A picture removed counts too; the name alone changing nothing else does not make a second frame.
      await alice.client.updateMe({ avatarFileId: null });
      await eventually(() => b.profiles.length === 2, 3000, 'bob hears the picture change');
      await alice.client.updateMe({ addPolicy: 'contacts' });
      await new Promise((r) => setTimeout(r, 300));
      expect(b.profiles).toHaveLength(2);
      expect(d.profiles).toEqual([]);
      expect(e.profiles).toEqual([]);
      expect(b.profiles[0]).toEqual(await bob.client.getUser({ userId: alice.id }).then((u) => ({ ...u, displayName: 'Alice Liddell' })));
    } finally {
      for (const r of [b, c, d, e, phone]) r.rt.close();
    }
  });
});
