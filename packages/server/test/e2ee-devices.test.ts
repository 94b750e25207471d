import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ParleyClient, type ParleyError, type SessionTokens, type UserEvent } from '@parley/sdk';
import { runCleanup } from '../src/modules/cleanup/cleanup.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { b64, deviceCert, deviceKeys, identityKey, makeKeyPackage, type IdentityKey } from './_mls.ts';

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

type Keys = Awaited<ReturnType<typeof deviceKeys>>;

/** A signed-in device of an E2EE user: its client, session, keys and certificate. */
interface E2eeDevice {
  client: ParleyClient;
  session: SessionTokens;
  id: string;
  keys: Keys;
  cert: Buffer;
}

interface E2eeUser extends TestUser {
  aik: IdentityKey;
  first: E2eeDevice;
}

describe.each(await stores())('E2EE identities, devices and KeyPackages on %s', (kind) => {
  let t: TestServer;
  let offset = 0;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => {
    t = await startTestServer(
      kind,
      {
        PARLEY_WRITE_RATE: '100000/10s',
        PARLEY_LOGIN_LIMIT: '1000/60s',
        PARLEY_MAX_SESSIONS: '4',
        PARLEY_PASSWORD_CHECK_LIMIT: '3/600s',
        PARLEY_REFRESH_TOKEN_TTL: '3600',
      },
      { now: () => Date.now() + offset },
    );
  });
  afterAll(async () => t?.close());

  const db = () => t.server.ctx.db.kysely;
  const deviceRow = (id: string) => db().selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
  const packageRows = (deviceId: string) => db().selectFrom('key_packages').selectAll().where('device_id', '=', deviceId).execute();

  /** A user with an identity key and a first device, active at once with its self-signed certificate. */
  async function e2eeUser(base: string): Promise<E2eeUser> {
    const u = await t.user(name(base));
    const aik = identityKey();
    await u.client.putIdentity({ publicKey: b64(aik.publicKey), recoveryBlob: b64(randomBytes(80)) });
    const keys = await deviceKeys();
    const cert = deviceCert(aik, { userId: u.id, deviceId: u.session.sessionId, signatureKey: keys.publicKey });
    const device = await u.client.registerDevice({ signaturePublicKey: b64(keys.publicKey), cert: b64(cert) });
    expect(device.status).toBe('active');
    return { ...u, aik, first: { client: u.client, session: u.session, id: u.session.sessionId, keys, cert } };
  }

  /** Another sign-in of the user: pending, then approved by the first device. */
  async function addDevice(u: E2eeUser, options: { approve?: boolean } = {}): Promise<E2eeDevice> {
    const client = t.client();
    const session = await client.login({ username: u.username, password: u.password, deviceName: 'another' });
    const keys = await deviceKeys();
    const cert = deviceCert(u.aik, { userId: u.id, deviceId: session.sessionId, signatureKey: keys.publicKey });
    const linkCommitment = b64(createHash('sha256').update(randomBytes(32)).digest());
    // A certificate alone does not make a second device active.
    const pending = await client.registerDevice({ signaturePublicKey: b64(keys.publicKey), linkCommitment, cert: b64(cert) });
    expect([pending.status, pending.cert, pending.linkCommitment]).toEqual(['pending', null, linkCommitment]);
    if (options.approve ?? true) expect((await u.client.approveDevice({ deviceId: session.sessionId, cert: b64(cert) })).status).toBe('active');
    return { client, session, id: session.sessionId, keys, cert };
  }

  async function upload(d: E2eeDevice, count: number, options: { lastResort?: boolean } = {}) {
    const made = await Promise.all(Array.from({ length: count }, () => makeKeyPackage(d.keys, d.cert)));
    const last = options.lastResort ? await makeKeyPackage(d.keys, d.cert) : undefined;
    const res = await d.client.uploadKeyPackages({ keyPackages: made.map((m) => m.data), ...(last ? { lastResort: last.data } : {}) });
    return { made, last, res };
  }

  async function userEvents(client: ParleyClient, type: UserEvent['type']): Promise<UserEvent[]> {
    const changes = await client.getChanges({ userSeq: 0, chats: {} });
    return changes.events.filter((e): e is UserEvent => e.log === 'user' && e.type === type);
  }

  it('stores an identity key once, serves it to anyone signed in, and its recovery blob only to its owner', async () => {
    const alice = await t.user(name('alice'));
    const bob = await t.user(name('bob'));
    const aik = identityKey();
    const blob = b64(randomBytes(120));
    const made = await alice.client.putIdentity({ publicKey: b64(aik.publicKey), recoveryBlob: blob });
    expect(made).toMatchObject({ userId: alice.id, publicKey: b64(aik.publicKey), version: 1 });
    expect(await bob.client.getIdentity({ userId: alice.id })).toEqual(made);
    expect(await alice.client.getRecovery()).toEqual({ recoveryBlob: blob });

    // The same key again replaces the blob; another key is refused and changes nothing.
    const blob2 = b64(randomBytes(60));
    await alice.client.putIdentity({ publicKey: b64(aik.publicKey), recoveryBlob: blob2 });
    expect(await alice.client.getRecovery()).toEqual({ recoveryBlob: blob2 });
    // The third read within the window is the limit (3 here); the fourth is refused.
    await alice.client.getRecovery();
    const limited = await fail(alice.client.getRecovery());
    expect([limited.status, limited.code]).toEqual([429, 'rate_limited']);
    const other = await fail(alice.client.putIdentity({ publicKey: b64(identityKey().publicKey), recoveryBlob: blob }));
    expect([other.status, other.code]).toEqual([409, 'identity_exists']);
    expect((await bob.client.getIdentity({ userId: alice.id })).publicKey).toBe(b64(aik.publicKey));

    // No identity, no such user, a deleted user: the same 404.
    expect((await fail(alice.client.getIdentity({ userId: bob.id }))).status).toBe(404);
    expect((await fail(alice.client.getIdentity({ userId: 'nobody' }))).status).toBe(404);
    expect((await fail(bob.client.getRecovery())).status).toBe(404);
    await alice.client.deleteAccount({ password: alice.password });
    expect((await fail(bob.client.getIdentity({ userId: alice.id }))).status).toBe(404);
    // Deleted with the account, not only hidden: the key, the recovery blob and the device lists.
    const db = t.server.ctx.db.kysely;
    expect(await db.selectFrom('identities').select('user_id').where('user_id', '=', alice.id).execute()).toEqual([]);
    expect(await db.selectFrom('device_lists').select('user_id').where('user_id', '=', alice.id).execute()).toEqual([]);
  });

  it('resets an identity key only with the password, ending every device of the account', async () => {
    const alice = await e2eeUser('alice');
    const bob = await t.user(name('bob'));
    const second = await addDevice(alice);
    await upload(second, 2, { lastResort: true });
    const aik2 = identityKey();
    const body = { publicKey: b64(aik2.publicKey), recoveryBlob: b64(randomBytes(40)) };
    const refused = [
      await fail(alice.client.putIdentity(body)),
      await fail(alice.client.putIdentity({ ...body, reset: true })),
      await fail(alice.client.putIdentity({ ...body, reset: true, password: 'not the password' })),
    ];
    expect(refused.map((e) => [e.status, e.code])).toEqual([
      [409, 'identity_exists'],
      [400, 'invalid_request'],
      [401, 'invalid_credentials'],
    ]);
    expect(await bob.client.getIdentity({ userId: alice.id })).toMatchObject({ publicKey: b64(alice.aik.publicKey), version: 1 });
    expect((await deviceRow(second.id))!.status).toBe('active');

    const reset = await alice.client.putIdentity({ ...body, reset: true, password: alice.password });
    expect(reset).toMatchObject({ publicKey: b64(aik2.publicKey), version: 2 });
    expect(await bob.client.getIdentity({ userId: alice.id })).toEqual(reset);
    for (const id of [alice.first.id, second.id]) expect((await deviceRow(id))!.status).toBe('ended');
    expect(await packageRows(second.id)).toEqual([]);
    // The sessions go on; the device registers again under the new key and is the first one.
    const cert = deviceCert(aik2, { userId: alice.id, deviceId: alice.first.id, signatureKey: alice.first.keys.publicKey });
    expect((await alice.client.registerDevice({ signaturePublicKey: b64(alice.first.keys.publicKey), cert: b64(cert) })).status).toBe('active');
    expect((await second.client.listDevices({ userId: alice.id })).devices.map((d) => d.id)).toEqual([alice.first.id]);
  });

  it('refuses malformed keys and blobs with 400 and writes nothing', async () => {
    const u = await t.user(name('bad'));
    const key = b64(identityKey().publicKey);
    for (const body of [
      { publicKey: 'short' },
      { publicKey: b64(randomBytes(31)) },
      { publicKey: b64(randomBytes(33)) },
      { publicKey: key, recoveryBlob: '***' },
      { publicKey: key, recoveryBlob: b64(randomBytes(4097)) },
      { publicKey: key, extra: 1 },
    ]) {
      const err = await fail(u.client.putIdentity(body as never));
      expect([err.status, err.code]).toEqual([400, 'invalid_request']);
    }
    expect(await db().selectFrom('identities').select('user_id').where('user_id', '=', u.id).execute()).toEqual([]);
    const noIdentity = await fail(u.client.registerDevice({ signaturePublicKey: b64(randomBytes(32)) }));
    expect([noIdentity.status, noIdentity.code]).toEqual([409, 'identity_required']);
    // With an identity: a certificate for another device, or a malformed or oversized one, is refused.
    const aik = identityKey();
    await u.client.putIdentity({ publicKey: b64(aik.publicKey) });
    const keys = await deviceKeys();
    const forOther = deviceCert(aik, { userId: u.id, deviceId: 'another-session', signatureKey: keys.publicKey });
    const v2 = deviceCert(aik, { userId: u.id, deviceId: u.session.sessionId, signatureKey: keys.publicKey, version: 2 });
    for (const cert of [b64(forOther), b64(v2), b64(randomBytes(100)), b64(randomBytes(1025))]) {
      const err = await fail(u.client.registerDevice({ signaturePublicKey: b64(keys.publicKey), cert }));
      expect([err.status, err.code]).toEqual([400, 'invalid_request']);
    }
    expect((await fail(u.client.registerDevice({ signaturePublicKey: b64(keys.publicKey), name: '' }))).status).toBe(400);
    expect(await deviceRow(u.session.sessionId)).toBeUndefined();
  });

  it('makes the first certified device active and others pending until an active device approves them', async () => {
    const alice = await e2eeUser('alice');
    const bob = await t.user(name('bob'));
    const second = await addDevice(alice, { approve: false });

    const mine = await alice.client.listDevices({ userId: alice.id });
    expect(mine.devices.map((d) => [d.id, d.status])).toEqual([
      [alice.first.id, 'active'],
      [second.id, 'pending'],
    ]);
    expect(mine.devices[0]).toMatchObject({ signatureKey: b64(alice.first.keys.publicKey), cert: b64(alice.first.cert), name: `${alice.username}-device` });
    // Others see the active devices only, without link commitments.
    const theirs = await bob.client.listDevices({ userId: alice.id });
    expect(theirs.devices.map((d) => d.id)).toEqual([alice.first.id]);
    expect(theirs.devices[0]!.linkCommitment).toBeUndefined();
    expect((await fail(bob.client.listDevices({ userId: 'nobody' }))).status).toBe(404);

    // A pending device cannot approve itself while another is active, nor can a stranger approve it.
    const self = await fail(second.client.approveDevice({ deviceId: second.id, cert: b64(second.cert) }));
    expect([self.status, self.code]).toEqual([409, 'device_not_active']);
    expect((await fail(bob.client.approveDevice({ deviceId: second.id, cert: b64(second.cert) }))).status).toBe(404);
    // A certificate naming another device is refused.
    const wrong = deviceCert(alice.aik, { userId: alice.id, deviceId: alice.first.id, signatureKey: second.keys.publicKey });
    expect((await fail(alice.client.approveDevice({ deviceId: second.id, cert: b64(wrong) }))).code).toBe('invalid_request');
    expect((await deviceRow(second.id))!.status).toBe('pending');

    const approved = await alice.client.approveDevice({ deviceId: second.id, cert: b64(second.cert) });
    expect([approved.status, approved.cert]).toEqual(['active', b64(second.cert)]);
    expect((await fail(alice.client.approveDevice({ deviceId: second.id, cert: b64(second.cert) }))).code).toBe('device_not_pending');
    expect((await bob.client.listDevices({ userId: alice.id })).devices.map((d) => d.id)).toEqual([alice.first.id, second.id]);

    // Registering again with the same key is a retry; a key another device holds is refused.
    expect((await alice.client.registerDevice({ signaturePublicKey: b64(alice.first.keys.publicKey) })).status).toBe('active');
    const taken = await fail(second.client.registerDevice({ signaturePublicKey: b64(alice.first.keys.publicKey) }));
    expect([taken.status, taken.code]).toEqual([409, 'device_key_taken']);
    expect((await deviceRow(second.id))!.status).toBe('active');

    const events = await userEvents(alice.client, 'device.registered');
    expect(events.map((e) => e.deviceId)).toEqual([second.id]);
    expect((await userEvents(alice.client, 'device.approved')).map((e) => e.deviceId)).toEqual([alice.first.id, second.id]);
  });

  it('lets a device whose user has no active device approve itself (recovery), and starts over a device that lost its keys', async () => {
    const alice = await e2eeUser('alice');
    const second = await addDevice(alice, { approve: false });
    await alice.client.logout();
    expect((await second.client.approveDevice({ deviceId: second.id, cert: b64(second.cert) })).status).toBe('active');
    await upload(second, 2, { lastResort: true });

    // Lost its keys: a new signature key sends it back to pending, with no KeyPackages left.
    const keys = await deviceKeys();
    const again = await second.client.registerDevice({ signaturePublicKey: b64(keys.publicKey) });
    expect([again.status, again.cert]).toEqual(['pending', null]);
    expect(await packageRows(second.id)).toEqual([]);
  });

  it('publishes device lists by compare-and-swap on the version and serves the chain', async () => {
    const alice = await e2eeUser('alice');
    const bob = await t.user(name('bob'));
    const second = await addDevice(alice);
    const list = (v: number) => b64(Buffer.from(`signed device list v${v} ${randomBytes(8).toString('hex')}`));

    const v1 = list(1);
    expect(await alice.client.publishDeviceList({ version: 1, data: v1 })).toMatchObject({ version: 1, data: v1 });
    for (const version of [1, 3]) {
      const err = await fail(alice.client.publishDeviceList({ version, data: list(version) }));
      expect([err.status, err.code]).toEqual([409, 'device_list_conflict']);
    }
    const v2 = list(2);
    await second.client.publishDeviceList({ version: 2, data: v2 });

    // Two devices publishing the next version at once: exactly one wins.
    const both = await Promise.allSettled([
      alice.client.publishDeviceList({ version: 3, data: list(3) }),
      second.client.publishDeviceList({ version: 3, data: list(3) }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(((both.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as ParleyError).code).toBe('device_list_conflict');

    const chain = await bob.client.getDeviceLists({ userId: alice.id });
    expect(chain.lists.map((l) => l.version)).toEqual([1, 2, 3]);
    expect(chain.lists.slice(0, 2).map((l) => l.data)).toEqual([v1, v2]);
    expect(chain.hasMore).toBe(false);
    expect((await bob.client.getDeviceLists({ userId: alice.id, after: 1 })).lists.map((l) => l.version)).toEqual([2, 3]);
    expect((await bob.client.listDevices({ userId: alice.id })).deviceList!.version).toBe(3);
    expect((await fail(bob.client.getDeviceLists({ userId: 'nobody' }))).status).toBe(404);
    expect((await fail(bob.client.getDeviceLists({ userId: alice.id, after: -1 }))).status).toBe(400);
    expect((await userEvents(second.client, 'device_list.updated')).map((e) => e.version)).toEqual([1, 2, 3]);

    // Only an active device publishes; sizes are checked; nothing is written when refused.
    const pending = await addDevice(alice, { approve: false });
    expect((await fail(pending.client.publishDeviceList({ version: 4, data: list(4) }))).code).toBe('device_not_active');
    expect((await fail(bob.client.publishDeviceList({ version: 1, data: list(1) }))).code).toBe('device_not_active');
    for (const data of ['', b64(randomBytes(16385)), 'not base64!']) {
      expect((await fail(alice.client.publishDeviceList({ version: 4, data }))).status).toBe(400);
    }
    expect((await fail(alice.client.publishDeviceList({ version: 0, data: list(0) }))).status).toBe(400);
    expect((await bob.client.getDeviceLists({ userId: alice.id, after: 3 })).lists).toEqual([]);
  });

  it('stores checked KeyPackages of an active device, counts them, and skips ones already stored', async () => {
    const alice = await e2eeUser('alice');
    const { made, last, res } = await upload(alice.first, 3, { lastResort: true });
    expect(res).toEqual({ count: 3, lastResort: true });
    expect(await alice.client.countKeyPackages()).toEqual({ count: 3, lastResort: true });
    // The server's KeyPackageRef is the one ts-mls computes.
    const refs = (await packageRows(alice.first.id)).map((r) => Buffer.from(r.ref).toString('hex'));
    expect(refs.sort()).toEqual([...made, last!].map((m) => m.ref.toString('hex')).sort());
    // A retried upload adds nothing.
    expect(await alice.client.uploadKeyPackages({ keyPackages: made.map((m) => m.data) })).toEqual({ count: 3, lastResort: true });
    // A new last-resort package replaces the old one.
    const last2 = await makeKeyPackage(alice.first.keys, alice.first.cert);
    expect(await alice.client.uploadKeyPackages({ keyPackages: [], lastResort: last2.data })).toEqual({ count: 3, lastResort: true });
    const lastRows = (await packageRows(alice.first.id)).filter((r) => r.last_resort === 1);
    expect(lastRows.map((r) => Buffer.from(r.ref).toString('hex'))).toEqual([last2.ref.toString('hex')]);
  });

  it('refuses KeyPackages that are not this device’s, malformed or expired, and writes none of the upload', async () => {
    const alice = await e2eeUser('alice');
    const bob = await e2eeUser('bob');
    const good = await makeKeyPackage(alice.first.keys, alice.first.cert);
    const otherKey = await makeKeyPackage(await deviceKeys(), alice.first.cert);
    const otherCert = await makeKeyPackage(alice.first.keys, bob.first.cert);
    const bobs = await makeKeyPackage(bob.first.keys, bob.first.cert);
    const expired = await makeKeyPackage(alice.first.keys, alice.first.cert, { notAfter: BigInt(Math.floor(Date.now() / 1000) - 10) });
    const bytes = Buffer.from(good.data, 'base64');
    const truncated = b64(bytes.subarray(0, bytes.length - 1));
    const trailing = b64(Buffer.concat([bytes, Buffer.from([0])]));
    const notKeyPackage = b64(Buffer.concat([Buffer.from([0, 1, 0, 2]), bytes.subarray(4)]));
    for (const bad of [otherKey.data, otherCert.data, bobs.data, expired.data, truncated, trailing, notKeyPackage, b64(randomBytes(400))]) {
      const err = await fail(alice.client.uploadKeyPackages({ keyPackages: [good.data, bad] }));
      expect([err.status, err.code]).toEqual([400, 'key_package_invalid']);
      expect((await fail(alice.client.uploadKeyPackages({ keyPackages: [], lastResort: bad }))).code).toBe('key_package_invalid');
    }
    for (const body of [
      { keyPackages: ['***'] },
      { keyPackages: [''] },
      { keyPackages: [b64(randomBytes(4097))] },
      { keyPackages: Array(101).fill(good.data) },
      {},
    ]) {
      expect((await fail(alice.client.uploadKeyPackages(body as never))).status).toBe(400);
    }
    expect(await packageRows(alice.first.id)).toEqual([]);

    // A pending device, and a session with no device, upload nothing.
    const pending = await addDevice(alice, { approve: false });
    expect((await fail(pending.client.uploadKeyPackages({ keyPackages: [good.data] }))).code).toBe('device_not_active');
    const plain = await t.user(name('plain'));
    expect((await fail(plain.client.uploadKeyPackages({ keyPackages: [good.data] }))).code).toBe('device_not_active');
    expect(await plain.client.countKeyPackages()).toEqual({ count: 0, lastResort: false });
  });

  it('keeps at most 200 single-use KeyPackages per device', async () => {
    const alice = await e2eeUser('alice');
    await upload(alice.first, 100);
    await upload(alice.first, 100, { lastResort: true });
    const over = await fail(upload(alice.first, 1));
    expect([over.status, over.code]).toEqual([409, 'too_many_key_packages']);
    expect(await alice.client.countKeyPackages()).toEqual({ count: 200, lastResort: true });
  });

  it('hands out one KeyPackage per active device of chat members, each single-use one once, and keeps the last resort', async () => {
    const alice = await e2eeUser('alice');
    const bob = await e2eeUser('bob');
    const bob2 = await addDevice(bob);
    const bobPending = await addDevice(bob, { approve: false });
    const alice2 = await addDevice(alice);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const b1 = await upload(bob.first, 2, { lastResort: true });
    const b2 = await upload(bob2, 1);
    const a2 = await upload(alice2, 1);
    await upload(alice.first, 1);

    const first = await alice.client.claimKeyPackages({ chatId: chat.id, userIds: [bob.id, alice.id] });
    // Bob's two active devices and my other device; never the current one nor a pending one.
    expect(first.keyPackages.map((k) => [k.userId, k.deviceId, k.lastResort])).toEqual(
      [
        [alice.id, alice2.id, false],
        [bob.id, bob.first.id, false],
        [bob.id, bob2.id, false],
      ].sort((x, y) => (x[0]! < y[0]! ? -1 : x[0]! > y[0]! ? 1 : 0)),
    );
    expect(first.keyPackages.some((k) => k.deviceId === bobPending.id)).toBe(false);
    const byDevice = (res: typeof first, id: string) => res.keyPackages.find((k) => k.deviceId === id);
    expect(b1.made.map((m) => m.data)).toContain(byDevice(first, bob.first.id)!.data);
    expect(byDevice(first, bob2.id)!.data).toBe(b2.made[0]!.data);
    expect(byDevice(first, alice2.id)!.data).toBe(a2.made[0]!.data);

    // Bob's first device has one single-use package left, then only its last resort; bob2 has none at all.
    const second = await bob2.client.claimKeyPackages({ chatId: chat.id, userIds: [bob.id] });
    expect(second.keyPackages.map((k) => [k.deviceId, k.lastResort])).toEqual([[bob.first.id, false]]);
    expect(second.keyPackages[0]!.data).not.toBe(byDevice(first, bob.first.id)!.data);
    for (let i = 0; i < 2; i++) {
      const res = await alice.client.claimKeyPackages({ chatId: chat.id, userIds: [bob.id] });
      expect(res.keyPackages).toEqual([{ userId: bob.id, deviceId: bob.first.id, data: b1.last!.data, lastResort: true }]);
    }
    expect(await bob.client.countKeyPackages()).toEqual({ count: 0, lastResort: true });
    // Every single-use package taken below the low mark told its device; the last resort did not.
    const low = await userEvents(bob.client, 'key_packages.low');
    expect(low.map((e) => e.deviceId).sort()).toEqual([bob.first.id, bob.first.id, bob2.id].sort());
  });

  it('tells a device when its KeyPackages run low, not before', async () => {
    const alice = await e2eeUser('alice');
    const bob = await e2eeUser('bob');
    await upload(bob.first, 11);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await alice.client.claimKeyPackages({ chatId: chat.id, userIds: [bob.id] });
    expect(await userEvents(bob.client, 'key_packages.low')).toEqual([]);
    await alice.client.claimKeyPackages({ chatId: chat.id, userIds: [bob.id] });
    expect((await userEvents(bob.client, 'key_packages.low')).map((e) => e.deviceId)).toEqual([bob.first.id]);
  });

  it('checks who claims for whom: strangers and channels get nothing, targets must be members', async () => {
    const alice = await e2eeUser('alice');
    const bob = await e2eeUser('bob');
    const stranger = await e2eeUser('stranger');
    await upload(bob.first, 2);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });

    const notMine = await fail(stranger.client.claimKeyPackages({ chatId: chat.id, userIds: [bob.id] }));
    const missing = await fail(stranger.client.claimKeyPackages({ chatId: 'no-such-chat', userIds: [bob.id] }));
    expect([notMine.status, notMine.code, notMine.message.replace(chat.id, 'X')]).toEqual([404, 'not_found', missing.message.replace('no-such-chat', 'X')]);
    const outsider = await fail(alice.client.claimKeyPackages({ chatId: chat.id, userIds: [bob.id, stranger.id] }));
    expect([outsider.status, outsider.code]).toEqual([404, 'not_member']);
    const channel = await alice.client.createChannel({ title: 'News' });
    expect((await fail(alice.client.claimKeyPackages({ chatId: channel.id, userIds: [alice.id] }))).status).toBe(400);
    for (const userIds of [[], [bob.id, bob.id], Array.from({ length: 21 }, (_, i) => `u${i}`)]) {
      expect((await fail(alice.client.claimKeyPackages({ chatId: chat.id, userIds }))).status).toBe(400);
    }
    // A member without an active device of their own claims nothing.
    const plain = await t.user(name('plain'));
    const group = await alice.client.createGroup({ title: 'G', memberIds: [bob.id, plain.id] });
    expect((await fail(plain.client.claimKeyPackages({ chatId: group.id, userIds: [bob.id] }))).code).toBe('device_not_active');
    expect(await bob.client.countKeyPackages()).toEqual({ count: 2, lastResort: false });
  });

  it('never hands the same KeyPackage to two of 20 concurrent claims', async () => {
    const alice = await e2eeUser('alice');
    const bob = await e2eeUser('bob');
    // Four sessions: the limit.
    const claimers = await Promise.all(Array.from({ length: 3 }, () => addDevice(alice)));
    const { made, last } = await upload(bob.first, 12, { lastResort: true });
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const clients = [alice.client, ...claimers.map((c) => c.client)];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => clients[i % clients.length]!.claimKeyPackages({ chatId: chat.id, userIds: [bob.id] })),
    );
    const got = results.map((r) => r.keyPackages.find((k) => k.deviceId === bob.first.id)!);
    const single = got.filter((k) => !k.lastResort).map((k) => k.data);
    expect(single.length).toBe(12);
    expect(new Set(single).size).toBe(12);
    expect(new Set(single)).toEqual(new Set(made.map((m) => m.data)));
    expect(got.filter((k) => k.lastResort).every((k) => k.data === last!.data)).toBe(true);
    expect(await bob.client.countKeyPackages()).toEqual({ count: 0, lastResort: true });
  });

  describe('every way a session ends ends its device and deletes its KeyPackages', () => {
    /** A user whose second device has KeyPackages; `end` ends that device's session somehow. */
    async function check(end: (u: E2eeUser, d: E2eeDevice) => Promise<unknown>, options: { others?: boolean } = {}) {
      const u = await e2eeUser('ender');
      const d = await addDevice(u);
      await upload(d, 3, { lastResort: true });
      const keep = await e2eeUser('keeper');
      await upload(keep.first, 1);
      await end(u, d);
      const row = await deviceRow(d.id);
      expect([row!.status, typeof row!.ended_at]).toEqual(['ended', 'number']);
      expect(await packageRows(d.id)).toEqual([]);
      expect(await db().selectFrom('sessions').select('id').where('id', '=', d.id).execute()).toEqual([]);
      // Nobody else's device or packages are touched (but where every session expired).
      if (options.others ?? true) {
        expect((await deviceRow(keep.first.id))!.status).toBe('active');
        expect((await packageRows(keep.first.id)).length).toBe(1);
      }
      const ended = await db().selectFrom('user_events').select('data').where('user_id', '=', u.id).where('type', '=', 'device.ended').execute();
      expect(ended.map((e) => JSON.parse(e.data!).deviceId)).toContain(d.id);
    }

    it('logout', () => check((_u, d) => d.client.logout()));
    it('terminate from another device', () => check((u, d) => u.client.terminateSession({ sessionId: d.id })));
    it('terminate all others', () => check((u) => u.client.terminateOtherSessions()));
    it('password change', () => check((u) => u.client.changePassword({ currentPassword: u.password, newPassword: 'a whole new password' })));
    it('account deletion', () => check((u) => u.client.deleteAccount({ password: u.password })));
    it('account disabled by an admin', async () => {
      const client = t.client();
      const me = await client.register({
        inviteCode: await t.invite({ admin: true }),
        username: name('root'),
        password: 'root password 1',
        displayName: 'Root',
      });
      await client.login({ username: me.username, password: 'root password 1', deviceName: 'root' });
      await check((u) => client.disableAccount({ userId: u.id }));
    });
    it('session-limit eviction at sign-in', () =>
      check(async (u) => {
        // The limit is 4: two devices and two more sign-ins fill it; two further ones push out the
        // two oldest, the second device among them.
        for (let i = 0; i < 4; i++) await t.client().login({ username: u.username, password: u.password, deviceName: `more ${i}` });
      }));
    it('reuse of a rotated refresh token', () =>
      check(async (_u, d) => {
        const old = d.client.session!.refreshToken;
        await d.client.refresh();
        expect((await fail(t.client().refreshSession({ refreshToken: old }))).code).toBe('refresh_token_reused');
      }));
    it('refresh after expiry', () =>
      check(async (_u, d) => {
        offset += 2 * 3600_000;
        expect((await fail(t.client().refreshSession({ refreshToken: d.client.session!.refreshToken }))).code).toBe('refresh_token_invalid');
      }));
    it('cleanup of expired sessions', () =>
      check(
        async () => {
          offset += 2 * 3600_000;
          await runCleanup(t.server.ctx);
        },
        { others: false },
      ));
  });
});
