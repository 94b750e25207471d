import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ParleyClient, type ParleyError } from '@parley/sdk';
import {
  createMls,
  decodeLinkPayload,
  E2eeDevice,
  encodeDeviceCert,
  exportAik,
  Directory,
  formatRecoveryKey,
  generateAik,
  generateRecoveryKey,
  signDeviceCert,
  type E2eeChat,
  type E2eeError,
} from '@parley/sdk/e2ee';
import { encodeLinkMessage, sealLinkEnvelope } from '../../sdk/src/e2ee/link.ts';
import { runCleanup } from '../src/modules/cleanup/cleanup.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

// Linking a new device to an account and recovering one with the recovery key, with the SDK's engine against a real
// server: by QR payload and by short authentication string, each ending with the new device reading and sending in
// an existing encrypted chat; a server that swaps what it relays (the envelope, the keys, the pending device's
// registered key) is caught by one device or the other; the mailbox's access rules and expiry; recovery.

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError & E2eeError,
  );

const POLL = { pollMs: 50 };

describe.each(await stores())('E2EE device linking on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => {
    t = await startTestServer(kind, {
      PARLEY_WRITE_RATE: '100000/10s',
      PARLEY_READ_RATE: '100000/10s',
      PARLEY_LOGIN_LIMIT: '1000/60s',
      PARLEY_MESSAGE_RATE: '100000/10s',
    });
  });
  afterAll(async () => t?.close());

  const db = () => t.server.ctx.db.kysely;

  async function signIn(user: TestUser, device: string): Promise<ParleyClient> {
    const client = t.client();
    await client.login({ username: user.username, password: user.password, deviceName: device });
    return client;
  }

  /** Alice's first device and Bob's, and their private chat's group, with one message each way. */
  async function chatting() {
    const alice = await t.user(name('alice'));
    const bob = await t.user(name('bob'));
    const a1 = await E2eeDevice.setUp(alice.client);
    const b1 = await E2eeDevice.setUp(bob.client);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await a1.chat(chat.id).start();
    await b1.sync();
    await a1.chat(chat.id).send('before the link');
    await b1.sync();
    return { alice, bob, a1, b1, chatId: chat.id };
  }

  const texts = (c: E2eeChat) => c.timeline().map((m) => m.text);

  /** The linked device joins the chat by external commit, reads what Bob sends next, and is read by both. */
  async function readsAndSends(linked: E2eeDevice, others: { a1: E2eeDevice; b1: E2eeDevice; chatId: string }) {
    const { a1, b1, chatId } = others;
    await linked.chat(chatId).start();
    await Promise.all([a1.sync(), b1.sync()]);
    await b1.chat(chatId).send('from bob after the link');
    await linked.sync();
    expect(texts(linked.chat(chatId)).at(-1)).toBe('from bob after the link');
    await linked.chat(chatId).send('from the linked device');
    await Promise.all([a1.sync(), b1.sync()]);
    expect(texts(b1.chat(chatId)).at(-1)).toBe('from the linked device');
    expect(texts(a1.chat(chatId)).at(-1)).toBe('from the linked device');
    expect(a1.chat(chatId).group?.members().length).toBe(3);
  }

  /** The mailbox row the server holds for a recipient, once it is there. */
  async function mailboxRow(recipient: string) {
    for (let i = 0; i < 200; i++) {
      const row = await db().selectFrom('device_links').selectAll().where('recipient_device_id', '=', recipient).executeTakeFirst();
      if (row) return row;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no link message for ${recipient}`);
  }

  it('links a device by its QR payload: it gets the identity key and a certificate, joins the chat, reads and sends', async () => {
    const world = await chatting();
    const client = await signIn(world.alice, 'alice-laptop');
    const link = await E2eeDevice.startLink(client, POLL);
    expect(link.payload).toMatch(/^parley-link:[A-Za-z0-9_-]+$/);
    const listed = (await world.a1.client.listDevices({ userId: world.alice.id })).devices.find((d) => d.id === link.deviceId);
    expect(listed?.status).toBe('pending');

    const [linked] = await Promise.all([link.waitForApproval(), world.a1.approveLink(link.payload)]);
    expect(linked.status).toBe('active');
    expect(linked.deviceId).toBe(client.session!.sessionId);
    expect(linked.aik.publicKey).toEqual(world.a1.aik.publicKey);
    expect(await exportAik(linked.aik)).toEqual(await exportAik(world.a1.aik));
    expect((await client.countKeyPackages()).count).toBeGreaterThan(0);
    // The mailbox is empty again: each message was read once.
    expect(await db().selectFrom('device_links').selectAll().where('user_id', '=', world.alice.id).execute()).toEqual([]);
    await readsAndSends(linked, world);
  });

  it('links a device by comparing a short authentication string on both screens', async () => {
    const world = await chatting();
    const client = await signIn(world.alice, 'alice-tablet');
    const link = await E2eeDevice.startLink(client, POLL);
    // The new device waits for an envelope from the start, as a screen offering both ways would.
    const approval = link.waitForApproval();
    const [newCode, session] = await Promise.all([link.sas(), world.a1.startSas(link.deviceId, POLL)]);
    expect(newCode).toMatch(/^\d{3} \d{3}$/);
    expect(session.code).toBe(newCode);
    await link.confirmSas();
    const [linked] = await Promise.all([approval, world.a1.confirmSas(session, POLL)]);
    expect(linked.aik.publicKey).toEqual(world.a1.aik.publicKey);
    await readsAndSends(linked, world);
  });

  describe('against a server that swaps what it relays', () => {
    it('a new device refuses an envelope the server replaced or altered, and stays unlinked', async () => {
      const { alice, a1 } = await chatting();
      const client = await signIn(alice, 'alice-phone');
      const link = await E2eeDevice.startLink(client, POLL);
      await a1.approveLink(link.payload);
      const real = await mailboxRow(link.deviceId);

      // Even knowing the link key (which only the QR code shows), the server cannot make an envelope without the secret.
      const payload = decodeLinkPayload(link.payload);
      const mls = await createMls({ validator: { validate: async () => false } });
      const fake = await generateAik();
      const cert = encodeDeviceCert(await signDeviceCert(fake, { userId: alice.id, deviceId: link.deviceId, signatureKey: payload.signatureKey }));
      const realCert = (await db().selectFrom('devices').select('cert').where('id', '=', link.deviceId).executeTakeFirstOrThrow()).cert;
      // A consistent server: it lists the certificate it made, too.
      await db()
        .updateTable('devices')
        .set({ cert: Buffer.from(cert) })
        .where('id', '=', link.deviceId)
        .execute();
      const sealed = await sealLinkEnvelope(mls.hpke(), {
        target: payload,
        secret: randomBytes(32),
        envelope: { aikPkcs8: await exportAik(fake), cert },
      });
      await db()
        .updateTable('device_links')
        .set({ data: Buffer.from(encodeLinkMessage({ kind: 'envelope', sealed })) })
        .where('recipient_device_id', '=', link.deviceId)
        .execute();
      expect((await fail(link.waitForApproval({ timeoutMs: 5000 }))).code).toBe('e2ee_link_failed');

      // The real envelope with one byte flipped does not open either.
      const altered = Buffer.from(real.data);
      altered.writeUInt8(altered.readUInt8(altered.length - 5) ^ 1, altered.length - 5);
      await db()
        .insertInto('device_links')
        .values({ ...real, data: altered })
        .execute();
      expect((await fail(link.waitForApproval({ timeoutMs: 5000 }))).code).toBe('e2ee_link_failed');

      // The real one still opens: only what the approver sealed is accepted.
      await db().updateTable('devices').set({ cert: realCert }).where('id', '=', link.deviceId).execute();
      await db().insertInto('device_links').values(real).execute();
      const linked = await link.waitForApproval({ timeoutMs: 5000 });
      expect(linked.aik.publicKey).toEqual(a1.aik.publicKey);
    });

    it('an approver refuses a QR payload when the server lists other keys for the pending device', async () => {
      const { alice, a1 } = await chatting();
      const client = await signIn(alice, 'alice-phone');
      const link = await E2eeDevice.startLink(client, POLL);
      const registered = await db().selectFrom('devices').selectAll().where('id', '=', link.deviceId).executeTakeFirstOrThrow();

      // The server's own signature key under the pending device's id: a certificate for it would let the server in.
      const other = await (await createMls({ validator: { validate: async () => false } })).generateSignatureKeyPair();
      await db()
        .updateTable('devices')
        .set({ signature_key: Buffer.from(other.publicKey) })
        .where('id', '=', link.deviceId)
        .execute();
      expect((await fail(a1.approveLink(link.payload))).code).toBe('e2ee_link_failed');

      // Another link key committed to, the signature key restored.
      await db()
        .updateTable('devices')
        .set({ signature_key: registered.signature_key, link_commitment: randomBytes(32) })
        .where('id', '=', link.deviceId)
        .execute();
      expect((await fail(a1.approveLink(link.payload))).code).toBe('e2ee_link_failed');

      // Nothing was approved, sealed or listed.
      const row = await db().selectFrom('devices').select(['status', 'cert']).where('id', '=', link.deviceId).executeTakeFirstOrThrow();
      expect(row).toEqual({ status: 'pending', cert: null });
      expect(await db().selectFrom('device_links').selectAll().where('recipient_device_id', '=', link.deviceId).execute()).toEqual([]);
    });

    it('a swapped approver key gives two different codes, and the approver cannot open the confirmation', async () => {
      const { alice, a1 } = await chatting();
      const client = await signIn(alice, 'alice-phone');
      const link = await E2eeDevice.startLink(client, POLL);
      const started = a1.startSas(link.deviceId, POLL);
      await mailboxRow(link.deviceId);
      // The server puts its own key in front of the new device.
      const mls = await createMls({ validator: { validate: async () => false } });
      const serverKeys = await mls.hpke().generateKeyPair();
      await db()
        .updateTable('device_links')
        .set({ data: Buffer.from(encodeLinkMessage({ kind: 'sas_start', approverKey: serverKeys.publicKey })) })
        .where('recipient_device_id', '=', link.deviceId)
        .execute();
      const newCode = await link.sas();
      const session = await started;
      expect(session.code).not.toBe(newCode);
      // Even a user who confirms on the new device anyway gives the approver nothing it accepts.
      await link.confirmSas();
      expect((await fail(a1.confirmSas(session, { ...POLL, timeoutMs: 5000 }))).code).toBe('e2ee_link_failed');
      expect((await db().selectFrom('devices').select('status').where('id', '=', link.deviceId).executeTakeFirstOrThrow()).status).toBe('pending');
    });

    it('a swapped link key in the new device\u2019s reveal does not match its commitment', async () => {
      const { alice, a1 } = await chatting();
      const client = await signIn(alice, 'alice-phone');
      const link = await E2eeDevice.startLink(client, POLL);
      // The approver polls slowly, so the reveal waits in the mailbox long enough to be swapped.
      const started = fail(a1.startSas(link.deviceId, { pollMs: 1500, timeoutMs: 10_000 }));
      await mailboxRow(link.deviceId);
      // Past the approver's first look at its mailbox; its next is 1.5 s after it.
      await new Promise((r) => setTimeout(r, 200));
      await link.sas();
      await mailboxRow(a1.deviceId);
      const mls = await createMls({ validator: { validate: async () => false } });
      const serverKeys = await mls.hpke().generateKeyPair();
      await db()
        .updateTable('device_links')
        .set({ data: Buffer.from(encodeLinkMessage({ kind: 'sas_reveal', linkPublicKey: serverKeys.publicKey })) })
        .where('recipient_device_id', '=', a1.deviceId)
        .execute();
      expect((await started).code).toBe('e2ee_link_failed');
    });
  });

  describe('the mailbox', () => {
    const data = (text: string) => Buffer.from(text).toString('base64');

    it('carries messages between a pending and an active device of one user only, once each', async () => {
      const alice = await t.user(name('alice'));
      const bob = await t.user(name('bob'));
      const a1 = await E2eeDevice.setUp(alice.client);
      await E2eeDevice.setUp(bob.client);
      const pendingClient = await signIn(alice, 'alice-2');
      const pending = await E2eeDevice.startLink(pendingClient, POLL);
      const pending2 = await E2eeDevice.startLink(await signIn(alice, 'alice-3'), POLL);
      const bare = await signIn(alice, 'alice-no-device');

      // Active to pending and back; a second message from the same sender replaces the unread first.
      await a1.client.postDeviceLink({ deviceId: pending.deviceId, data: data('one') });
      await a1.client.postDeviceLink({ deviceId: pending.deviceId, data: data('two') });
      await pendingClient.postDeviceLink({ deviceId: a1.deviceId, data: data('back') });
      const got = await pendingClient.getDeviceLink({});
      expect(got.messages.map((m) => [m.senderDeviceId, Buffer.from(m.data, 'base64').toString()])).toEqual([[a1.deviceId, 'two']]);
      expect((await pendingClient.getDeviceLink({})).messages).toEqual([]);
      expect((await a1.client.getDeviceLink({ from: pending2.deviceId })).messages).toEqual([]);
      expect((await a1.client.getDeviceLink({ from: pending.deviceId })).messages.length).toBe(1);
      expect((await a1.client.getDeviceLink({})).messages).toEqual([]);

      const refused = async (p: Promise<unknown>) => {
        const e = await fail(p);
        return [e.status, e.code];
      };
      // Another user's device is not found, whatever its state.
      expect(await refused(bob.client.postDeviceLink({ deviceId: pending.deviceId, data: data('x') }))).toEqual([404, 'not_found']);
      expect(
        await refused(pendingClient.postDeviceLink({ deviceId: (await bob.client.listDevices({ userId: bob.id })).devices[0]!.id, data: data('x') })),
      ).toEqual([404, 'not_found']);
      expect(await refused(a1.client.postDeviceLink({ deviceId: 'nosuchdevice', data: data('x') }))).toEqual([404, 'not_found']);
      // Pending to pending, active to active, to itself, from a session that is no device.
      expect(await refused(pendingClient.postDeviceLink({ deviceId: pending2.deviceId, data: data('x') }))).toEqual([409, 'device_not_active']);
      const a2 = await E2eeDevice.setUp(await signIn(alice, 'alice-4'), { aik: a1.aik });
      await a1.approve(a2.deviceId);
      expect(await refused(a1.client.postDeviceLink({ deviceId: a2.deviceId, data: data('x') }))).toEqual([409, 'device_not_pending']);
      expect(await refused(a1.client.postDeviceLink({ deviceId: a1.deviceId, data: data('x') }))).toEqual([400, 'invalid_request']);
      expect(await refused(bare.postDeviceLink({ deviceId: pending.deviceId, data: data('x') }))).toEqual([409, 'device_not_active']);
      expect(await refused(bare.getDeviceLink({}))).toEqual([409, 'device_not_active']);
      // Size and form.
      expect(await refused(a1.client.postDeviceLink({ deviceId: pending.deviceId, data: randomBytes(4097).toString('base64') }))).toEqual([
        400,
        'invalid_request',
      ]);
      expect(await refused(a1.client.postDeviceLink({ deviceId: pending.deviceId, data: 'not base64!' }))).toEqual([400, 'invalid_request']);
      expect(await refused(a1.client.postDeviceLink({ deviceId: pending.deviceId, data: '' }))).toEqual([400, 'invalid_request']);
      await a1.client.postDeviceLink({ deviceId: pending.deviceId, data: randomBytes(4096).toString('base64') });
      // Bob reads nothing of Alice's; an ended device neither reads nor is written to.
      expect((await bob.client.getDeviceLink({})).messages).toEqual([]);
      await pendingClient.logout();
      expect(await refused(a1.client.postDeviceLink({ deviceId: pending.deviceId, data: data('x') }))).toEqual([404, 'not_found']);
    });

    it('forgets a message after ten minutes, and the cleanup job deletes it', async () => {
      const alice = await t.user(name('alice'));
      const a1 = await E2eeDevice.setUp(alice.client);
      const linkClient = await signIn(alice, 'alice-2');
      const link = await E2eeDevice.startLink(linkClient, POLL);
      const before = Date.now();
      await a1.client.postDeviceLink({ deviceId: link.deviceId, data: data('late') });
      await linkClient.postDeviceLink({ deviceId: a1.deviceId, data: data('fresh') });
      const row = await mailboxRow(link.deviceId);
      expect(Number(row.expires_at) - Number(row.created_at)).toBe(10 * 60_000);
      expect(Number(row.created_at)).toBeGreaterThanOrEqual(before - 1000);
      await db()
        .updateTable('device_links')
        .set({ expires_at: Date.now() - 1 })
        .where('recipient_device_id', '=', link.deviceId)
        .execute();
      expect((await linkClient.getDeviceLink({})).messages).toEqual([]);
      const left = () => db().selectFrom('device_links').select('recipient_device_id').where('user_id', '=', alice.id).execute();
      expect((await left()).length).toBe(2);
      await runCleanup(t.server.ctx);
      expect(await left()).toEqual([{ recipient_device_id: a1.deviceId }]);
    });
  });

  describe('recovery', () => {
    it('a user whose every device ended recovers with the recovery key, rejoins the chat, reads and sends', async () => {
      const { alice, a1, b1, chatId } = await chatting();
      const recoveryKey = await a1.createRecoveryKey();
      expect(recoveryKey).toMatch(/^([A-Z2-7]{4} ){12}[A-Z2-7]{4}$/);
      await a1.client.logout();
      const client = await signIn(alice, 'alice-new');

      // A wrong key, or no key at all, changes nothing.
      const wrong = await fail(E2eeDevice.recover(client, formatRecoveryKey(generateRecoveryKey())));
      expect(wrong.code).toBe('e2ee_recovery_failed');
      expect((await fail(E2eeDevice.recover(client, 'not a key'))).code).toBe('e2ee_recovery_key_invalid');
      expect((await client.listDevices({ userId: alice.id })).devices).toEqual([]);

      const recovered = await E2eeDevice.recover(client, recoveryKey.toLowerCase());
      expect(recovered.status).toBe('active');
      expect(recovered.aik.publicKey).toEqual(a1.aik.publicKey);
      const { devices, deviceList } = await b1.client.listDevices({ userId: alice.id });
      expect(devices.map((d) => d.id)).toEqual([recovered.deviceId]);
      expect(deviceList?.version).toBe(2);
      expect((await client.countKeyPackages()).count).toBeGreaterThan(0);

      // A leaf that Alice's new list no longer names is let through only while the server no longer lists it active
      // (pending removal); a server that says it is active is refused, and nothing is posted.
      const status = (s: 'active' | 'ended') => db().updateTable('devices').set({ status: s }).where('id', '=', a1.deviceId).execute();
      await status('active');
      const seq = (await client.getChat({ chatId })).lastSeq;
      expect((await fail(recovered.chat(chatId).start())).message).toContain('Could not validate credential');
      expect((await client.getChat({ chatId })).lastSeq).toBe(seq);
      await status('ended');
      // So the recovered device rejoins before anyone removed Alice's ended device, which an earlier list named.
      await recovered.chat(chatId).start();
      const inGroup = () =>
        recovered
          .chat(chatId)
          .group!.members()
          .map((m) => m.deviceId)
          .sort();
      expect(inGroup()).toEqual([a1.deviceId, b1.deviceId, recovered.deviceId].sort());
      // Bob's send first commits its removal (409 mls_commit_required), then goes out.
      await b1.sync();
      await b1.chat(chatId).send('welcome back');
      await recovered.sync();
      expect(texts(recovered.chat(chatId)).at(-1)).toBe('welcome back');
      expect(inGroup()).toEqual([b1.deviceId, recovered.deviceId].sort());
      await recovered.chat(chatId).send('I am back');
      await b1.sync();
      expect(texts(b1.chat(chatId)).at(-1)).toBe('I am back');
      expect(texts(recovered.chat(chatId))).not.toContain('before the link');
      expect(
        b1
          .chat(chatId)
          .group?.members()
          .map((m) => m.deviceId)
          .sort(),
      ).toEqual([b1.deviceId, recovered.deviceId].sort());
    });

    it('approves itself past another device that is still pending, but not while an active one is left', async () => {
      const alice = await t.user(name('alice'));
      const a1 = await E2eeDevice.setUp(alice.client);
      const recoveryKey = await a1.createRecoveryKey();
      const stranded = await E2eeDevice.startLink(await signIn(alice, 'alice-stranded'), POLL);

      // With a1 active the server refuses the self-approval: the device stays pending, nothing listed.
      const early = await signIn(alice, 'alice-early');
      expect((await fail(E2eeDevice.recover(early, recoveryKey))).code).toBe('device_not_active');

      await a1.client.logout();
      const client = await signIn(alice, 'alice-new');
      const recovered = await E2eeDevice.recover(client, recoveryKey);
      expect(recovered.status).toBe('active');
      const { devices } = await client.listDevices({ userId: alice.id });
      expect(devices.map((d) => [d.id, d.status]).sort()).toEqual(
        [
          [recovered.deviceId, 'active'],
          [stranded.deviceId, 'pending'],
          [early.session!.sessionId, 'pending'],
        ].sort(),
      );
      // The list the recovered device signed chains on from a1's for anyone who knew that one.
      const bob = await t.user(name('bob'));
      const seen = new Directory(bob.client);
      expect((await seen.refresh(alice.id))?.head.version).toBe(2);
    });
  });
});
