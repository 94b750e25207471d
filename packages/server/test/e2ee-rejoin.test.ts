import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ParleyError } from '@parley/sdk';
import { aikIdOf, createMls, E2eeDevice, encodeDeviceCert, fromBase64, signDeviceCert, toBase64 } from '@parley/sdk/e2ee';
import { startTestServer, stores, type TestServer } from './_harness.ts';

// Joining by external commit lets through the leaves of ended devices that their owner's signed device list named
// once and names no more (pending removal, e2ee-linking.test.ts's recovery), never a ghost's: a device certified by
// the owner's key but in none of the owner's signed lists stays refused, even once the server has ended it.

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError & Error,
  );

describe.each(await stores())('E2EE rejoin on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_WRITE_RATE: '100000/10s', PARLEY_LOGIN_LIMIT: '1000/60s', PARLEY_MESSAGE_RATE: '100000/10s' });
  });
  afterAll(async () => t?.close());

  it('a device joining a tree that holds an ended ghost (never in a signed list) refuses it and posts nothing', async () => {
    const [alice, bob] = await t.users('alice', 'bob');
    const a1 = await E2eeDevice.setUp(alice.client);
    const b1 = await E2eeDevice.setUp(bob.client);
    // A ghost of Alice's (her key, not in her signed list) made active by the server, with a KeyPackage to claim.
    const ghost = t.client();
    await ghost.login({ username: alice.username, password: alice.password, deviceName: 'ghost' });
    const trusting = await createMls({ validator: { validate: async () => true } });
    const keys = await trusting.generateSignatureKeyPair();
    const cert = encodeDeviceCert(await signDeviceCert(a1.aik, { userId: alice.id, deviceId: ghost.session!.sessionId, signatureKey: keys.publicKey }));
    await ghost.registerDevice({ signaturePublicKey: toBase64(keys.publicKey), cert: toBase64(cert) });
    await t.server.ctx.db.kysely
      .updateTable('devices')
      .set({ status: 'active', cert: Buffer.from(cert) })
      .where('id', '=', ghost.session!.sessionId)
      .execute();
    await ghost.uploadKeyPackages({ keyPackages: [toBase64((await trusting.createKeyPackage({ certificate: cert, signatureKeyPair: keys })).encoded)] });

    // Alice's first device, running a client that trusts everything, makes the group with Bob and the ghost in it.
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const { devices } = await alice.client.listDevices({ userId: alice.id });
    const own = await trusting.createKeyPackage({
      certificate: fromBase64(devices.find((d) => d.id === a1.deviceId)!.cert!),
      signatureKeyPair: a1.signatureKeyPair,
    });
    const roster = [
      { userId: alice.id, aikId: await aikIdOf(a1.aik.publicKey) },
      { userId: bob.id, aikId: await aikIdOf(b1.aik.publicKey) },
    ];
    const created = await trusting.createGroup({ keyPackage: own, roster });
    const { keyPackages } = await alice.client.claimKeyPackages({ chatId: chat.id, userIds: [alice.id, bob.id] });
    const bundle = await trusting.addDevices(
      created,
      keyPackages.map((k) => fromBase64(k.data)),
    );
    await alice.client.postCommit({
      chatId: chat.id,
      clientCommitId: 'with-a-ghost',
      epoch: 0,
      commit: toBase64(bundle.commit),
      groupInfo: toBase64(bundle.groupInfo),
      welcome: toBase64(bundle.welcome!),
      init: { groupId: toBase64(created.groupId), cipherSuite: 1 },
      addDevices: keyPackages.map((k) => ({ userId: k.userId, deviceId: k.deviceId })),
    });
    // The ghost's session ends: the server no longer lists it active, as for a device pending removal.
    await ghost.logout();
    expect((await alice.client.listDevices({ userId: alice.id })).devices.map((d) => d.id)).not.toContain(ghost.session?.sessionId);

    // Alice's second device, linked and listed, tries to join: the ghost's leaf is refused.
    const client = t.client();
    await client.login({ username: alice.username, password: alice.password, deviceName: 'alice-second' });
    const a2 = await E2eeDevice.setUp(client, { aik: a1.aik });
    await a1.approve(a2.deviceId);
    await a2.activate();
    const seq = (await client.getChat({ chatId: chat.id })).lastSeq;
    expect((await fail(a2.chat(chat.id).start())).message).toContain('Could not validate credential');
    expect((await client.getChat({ chatId: chat.id })).lastSeq).toBe(seq);
    expect(a2.chat(chat.id).group).toBeUndefined();
  });
});
