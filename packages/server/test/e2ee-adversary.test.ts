import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroupInfoWithExternalPubAndRatchetTree, decodeMlsMessage, encodeMlsMessage, joinGroupExternal } from 'ts-mls';
import { ParleyClient } from '@parley/sdk';
import {
  aikIdOf,
  createMls,
  decodeDeviceList,
  E2eeDevice,
  encodeDeviceCert,
  encodeDeviceList,
  fromBase64,
  generateAik,
  signDeviceCert,
  signDeviceList,
  toBase64,
  type Aik,
  type E2eeChat,
} from '@parley/sdk/e2ee';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { cipherSuite } from './_mls.ts';
import { eventually } from './_realtime.ts';

// The E2EE engine against a server that lies (design T4): the test owns the server's store and writes rows into it,
// or rewrites the responses one device's client receives. Each lie is refused or detected by the devices, surfaced
// (an error, a labelled message, a blocked chat, a problem) and reported by cause. Also the epoch race 50 times over
// (T5), and safety numbers with a contact's identity reset.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e) => e as Error & { code?: string },
  );

/** What a test may do to the responses one client receives: return a replacement body, or undefined to pass it. */
type Rewrite = (request: { method: string; path: string; body: unknown }, response: { status: number; body: unknown }) => unknown;

describe.each(await stores())('E2EE against a malicious server on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  beforeAll(async () => {
    t = await startTestServer(kind, {
      PARLEY_WRITE_RATE: '100000/10s',
      PARLEY_LOGIN_LIMIT: '1000/60s',
      PARLEY_MESSAGE_RATE: '100000/10s',
      PARLEY_READ_RATE: '100000/10s',
    });
  });
  afterAll(async () => t?.close());

  /** A client of a new session of `user` whose responses pass through `rewrite` while it is set. */
  async function tamperedClient(user: TestUser, deviceName: string) {
    const control: { rewrite: Rewrite | undefined } = { rewrite: undefined };
    const tampering: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const rewrite = control.rewrite;
      if (!rewrite || !res.headers.get('content-type')?.includes('json')) return res;
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      const body: unknown = await res.json();
      const sent = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
      const replaced = rewrite(
        { method: init?.method ?? 'GET', path: url.pathname.replace('/api/v1', '') + url.search, body: sent },
        { status: res.status, body },
      );
      return new Response(JSON.stringify(replaced ?? body), { status: res.status, headers: res.headers });
    };
    const client = new ParleyClient({ baseUrl: t.url, fetch: tampering, userAgent: 'parley-tests' });
    await client.login({ username: user.username, password: user.password, deviceName });
    return { client, control };
  }

  async function secondDevice(user: TestUser, first: E2eeDevice, client?: ParleyClient): Promise<E2eeDevice> {
    if (!client) {
      client = t.client();
      await client.login({ username: user.username, password: user.password, deviceName: `${user.username}-${++n}` });
    }
    const device = await E2eeDevice.setUp(client, { aik: first.aik });
    await first.approve(device.deviceId);
    await device.activate();
    return device;
  }

  /** Alice (one device, whose responses the test may rewrite) and Bob (two devices), and their private chat. */
  async function people() {
    const alice = await t.user(name('alice'));
    const bob = await t.user(name('bob'));
    const tampered = await tamperedClient(alice, 'alice-laptop');
    const a1 = await E2eeDevice.setUp(tampered.client);
    const b1 = await E2eeDevice.setUp(bob.client);
    const b2 = await secondDevice(bob, b1);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    return { alice, bob, a1, b1, b2, control: tampered.control, chatId: chat.id };
  }

  /** A KeyPackage for (userId, deviceId) certified by `aik`, made outside any honest device. */
  async function forgedKeyPackage(aik: Aik, userId: string, deviceId: string): Promise<string> {
    const mls = await createMls({ validator: { validate: async () => true } });
    const keys = await mls.generateSignatureKeyPair();
    const cert = encodeDeviceCert(await signDeviceCert(aik, { userId, deviceId, signatureKey: keys.publicKey }));
    return toBase64((await mls.createKeyPackage({ certificate: cert, signatureKeyPair: keys })).encoded);
  }

  async function failures(cause: string): Promise<number> {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    return Number(new RegExp(`parley_e2ee_failures_total\\{cause="${cause}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
  }

  const lastSeq = async (client: ParleyClient, chatId: string) => (await client.getChat({ chatId })).lastSeq;

  it('a claimed KeyPackage certified by a key not pinned for its user, or of a device missing from the signed list, is refused: no group is made', async () => {
    const { alice, bob, a1, b1, control, chatId } = await people();
    const claims = (edit: (kps: { userId: string; deviceId: string; data: string; lastResort: boolean }[]) => void): Rewrite => {
      return (req, res) => {
        if (req.method !== 'POST' || !req.path.endsWith('/mls/key-packages')) return undefined;
        const body = structuredClone(res.body) as { keyPackages: { userId: string; deviceId: string; data: string; lastResort: boolean }[] };
        edit(body.keyPackages);
        return body;
      };
    };

    // Bob's first device's package swapped for one certified by a key that is not Bob's.
    const forger = await generateAik();
    const unpinned = await forgedKeyPackage(forger, bob.id, b1.deviceId);
    control.rewrite = claims((kps) => {
      kps.find((k) => k.deviceId === b1.deviceId)!.data = unpinned;
    });
    const first = await refusal(a1.chat(chatId).start());
    expect(first).toMatchObject({ code: 'e2ee_untrusted_device', message: expect.stringContaining('another identity key') });
    expect(first.message).toContain(b1.deviceId);

    // A package certified by Bob's real key, for a device his signed list does not name.
    const unlisted = await forgedKeyPackage(b1.aik, bob.id, 'ghost-device');
    control.rewrite = claims((kps) => {
      kps.push({ userId: bob.id, deviceId: 'ghost-device', data: unlisted, lastResort: false });
    });
    const second = await refusal(a1.chat(chatId).start());
    expect(second).toMatchObject({ code: 'e2ee_untrusted_device', message: expect.stringContaining('not in the signed device list') });
    expect(await lastSeq(alice.client, chatId)).toBe(0);

    // The same claims unaltered make the group.
    control.rewrite = undefined;
    await a1.chat(chatId).start();
    expect(
      a1
        .chat(chatId)
        .group!.members()
        .map((m) => m.deviceId)
        .sort(),
    ).toEqual([a1.deviceId, b1.deviceId, (await bob.client.listDevices({ userId: bob.id })).devices.find((d) => d.id !== b1.deviceId)!.id].sort());
  });

  it('a device list served rolled back or forked is refused by its chain from the version seen, and the device it would admit stays out', async () => {
    const { bob, a1, b1, control, chatId } = await people();
    await a1.chat(chatId).start();
    expect(a1.directory.verifiedDeviceList(bob.id)?.head.version).toBe(2);

    // Rolled back: asked for what follows version 2, the server offers version 1 as the newest.
    const lists = await bob.client.getDeviceLists({ userId: bob.id, after: 0 });
    control.rewrite = (req) => (req.path.startsWith(`/users/${bob.id}/device-lists`) ? { lists: lists.lists.slice(0, 1), hasMore: false } : undefined);
    await expect(a1.directory.refresh(bob.id)).rejects.toMatchObject({ code: 'e2ee_device_list_rollback' });
    expect(a1.directory.verifiedDeviceList(bob.id)?.head.version).toBe(2);
    control.rewrite = undefined;

    // Forked: version 2 replaced by another list signed by Bob's key (two of his devices both published a
    // version 2 and the server kept both), and a version 3 that adds a device on top of it.
    const db = t.server.ctx.db.kysely;
    const v1 = decodeDeviceList(fromBase64(lists.lists[0]!.data));
    const v2 = decodeDeviceList(fromBase64(lists.lists[1]!.data));
    const forkedV2 = await signDeviceList(b1.aik, { userId: bob.id, previous: v1, devices: v2.devices.slice(0, 1) });
    const b3 = await secondDevice(bob, b1);
    const v3 = decodeDeviceList(fromBase64((await bob.client.getDeviceLists({ userId: bob.id, after: 2 })).lists[0]!.data));
    const forkedV3 = await signDeviceList(b1.aik, { userId: bob.id, previous: forkedV2, devices: v3.devices });
    for (const list of [forkedV2, forkedV3]) {
      await db
        .updateTable('device_lists')
        .set({ data: Buffer.from(encodeDeviceList(list)) })
        .where('user_id', '=', bob.id)
        .where('version', '=', list.version)
        .execute();
    }
    // Bob's third device joins the chat; Alice's device cannot verify the list naming it and refuses the commit.
    await b3.chat(chatId).start();
    await a1.sync();
    expect(a1.chat(chatId).blocked?.reason).toContain('not in the signed device list');
    expect(a1.directory.verifiedDeviceList(bob.id)?.head.version).toBe(2);
    expect(a1.problems.filter((p) => p.kind === 'device_list_rejected').map((p) => p.kind === 'device_list_rejected' && p.code)).toEqual([
      'e2ee_device_list_rollback',
      'e2ee_device_list_fork',
    ]);
    await eventually(async () => (await failures('commit_rejected')) >= 1, 5000, 'commit_rejected reported');
  });

  it('a device does not sign its account\u2019s next device list on top of one older than the version it verified', async () => {
    const bob = await t.user(name('bob'));
    const b1 = await E2eeDevice.setUp(bob.client);
    await secondDevice(bob, b1);
    expect(b1.directory.verifiedDeviceList(bob.id)?.head.version).toBe(2);
    // The server drops version 2 and then names version 1 as the newest.
    await t.server.ctx.db.kysely.deleteFrom('device_lists').where('user_id', '=', bob.id).where('version', '=', 2).execute();
    const third = t.client();
    await third.login({ username: bob.username, password: bob.password, deviceName: 'bob-third' });
    const b3 = await E2eeDevice.setUp(third, { aik: b1.aik });
    await expect(b1.approve(b3.deviceId)).rejects.toMatchObject({ code: 'e2ee_device_list_rollback' });
    const { lists } = await bob.client.getDeviceLists({ userId: bob.id, after: 0 });
    expect(lists.map((l) => l.version)).toEqual([1]);
  });

  /** Alice (two devices) and Bob (one) in a chat's group, all synced. */
  async function group() {
    const alice = await t.user(name('alice'));
    const bob = await t.user(name('bob'));
    const a1 = await E2eeDevice.setUp(alice.client);
    const a2 = await secondDevice(alice, a1);
    const b1 = await E2eeDevice.setUp(bob.client);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await a1.chat(chat.id).start();
    const devices = [a1, a2, b1];
    await Promise.all(devices.map((d) => d.sync()));
    return { alice, bob, a1, a2, b1, chatId: chat.id, devices, chats: devices.map((d) => d.chat(chat.id)) };
  }

  it('a ghost\u2019s external commit (certified by the owner\u2019s key, missing from the signed list) is refused by every device: the chat is blocked, reported, and sends nothing', async () => {
    const { alice, bob, a1, b1, chatId, devices, chats } = await group();
    const before = await failures('commit_rejected');
    // The server makes a session of Alice's an active device, with a certificate of her key (one the server kept,
    // say) that her signed device list does not name, and lets it join by external commit.
    const ghost = t.client();
    await ghost.login({ username: alice.username, password: alice.password, deviceName: 'ghost' });
    const mls = await createMls({ validator: { validate: async () => true } });
    const keys = await mls.generateSignatureKeyPair();
    const cert = encodeDeviceCert(await signDeviceCert(a1.aik, { userId: alice.id, deviceId: ghost.session!.sessionId, signatureKey: keys.publicKey }));
    await ghost.registerDevice({ signaturePublicKey: toBase64(keys.publicKey), cert: toBase64(cert) });
    await t.server.ctx.db.kysely
      .updateTable('devices')
      .set({ status: 'active', cert: Buffer.from(cert) })
      .where('id', '=', ghost.session!.sessionId)
      .execute();
    const info = await ghost.getGroupInfo({ chatId });
    const kp = await mls.createKeyPackage({ certificate: cert, signatureKeyPair: keys });
    const joined = await mls.joinExternal({ groupInfo: fromBase64(info.data), keyPackage: kp, resync: false });
    const posted = await ghost.postCommit({
      chatId,
      clientCommitId: 'ghost',
      epoch: info.epoch,
      commit: toBase64(joined.commit),
      groupInfo: toBase64(joined.groupInfo),
    });
    // What the ghost then sends is not read.
    const sealed = await mls.encrypt(joined.group, new TextEncoder().encode('{"v":1,"text":"from the ghost","editOf":null,"replyToId":null}'));
    await ghost.sendMessage({ chatId, clientMessageId: 'ghost-1', mls: { epoch: posted.epoch, ciphertext: toBase64(sealed.message) } });

    await Promise.all(devices.map((d) => d.sync()));
    for (const [i, c] of chats.entries()) {
      expect(c.blocked).toMatchObject({ seq: posted.seq, reason: expect.stringContaining('not in the signed device list') });
      expect(c.timeline().at(-1)).toMatchObject({ text: null, problem: 'blocked' });
      expect(devices[i]!.problems).toContainEqual({ kind: 'chat_blocked', chatId, seq: posted.seq, reason: c.blocked!.reason });
      expect(Number(c.group!.epoch)).toBe(info.epoch);
    }
    const seq = await lastSeq(bob.client, chatId);
    await expect(b1.chat(chatId).send('into a blocked chat')).rejects.toMatchObject({ code: 'e2ee_chat_blocked' });
    await expect(b1.chat(chatId).update()).rejects.toMatchObject({ code: 'e2ee_chat_blocked' });
    expect(await lastSeq(bob.client, chatId)).toBe(seq);
    await eventually(async () => (await failures('commit_rejected')) >= before + 3, 5000, 'three commit_rejected reports');
  });

  it('a Welcome whose tree holds a ghost is refused by the device it names: that chat is blocked and reported, its sync and its other chats go on', async () => {
    const alice = await t.user(name('alice'));
    const bob = await t.user(name('bob'));
    const a1 = await E2eeDevice.setUp(alice.client);
    const b1 = await E2eeDevice.setUp(bob.client);
    const before = await failures('welcome_failed');
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
    const own = await trusting.createKeyPackage({ certificate: await certOf(a1), signatureKeyPair: a1.signatureKeyPair });
    const roster = [
      { userId: alice.id, aikId: await aikIdOf(a1.aik.publicKey) },
      { userId: bob.id, aikId: await aikIdOf(b1.aik.publicKey) },
    ];
    const created = await trusting.createGroup({ keyPackage: own, roster });
    const { keyPackages } = await alice.client.claimKeyPackages({ chatId: chat.id, userIds: [alice.id, bob.id] });
    expect(keyPackages.map((k) => k.deviceId).sort()).toEqual([ghost.session!.sessionId, b1.deviceId].sort());
    const bundle = await trusting.addDevices(
      created,
      keyPackages.map((k) => fromBase64(k.data)),
    );
    const posted = await alice.client.postCommit({
      chatId: chat.id,
      clientCommitId: 'with-a-ghost',
      epoch: 0,
      commit: toBase64(bundle.commit),
      groupInfo: toBase64(bundle.groupInfo),
      welcome: toBase64(bundle.welcome!),
      init: { groupId: toBase64(created.groupId), cipherSuite: 1 },
      addDevices: keyPackages.map((k) => ({ userId: k.userId, deviceId: k.deviceId })),
    });

    // Bob's other chat, with Carol, is unaffected.
    const carol = await t.user(name('carol'));
    const c1 = await E2eeDevice.setUp(carol.client);
    const other = await carol.client.createPrivateChat({ userId: bob.id });
    await c1.chat(other.id).start();
    await c1.chat(other.id).send('hi Bob');

    await b1.sync();
    const refused = b1.chat(chat.id);
    expect(refused.group).toBeUndefined();
    expect(refused.blocked).toMatchObject({ seq: posted.seq, reason: expect.stringContaining('not in the signed device list') });
    expect(b1.problems).toContainEqual({ kind: 'chat_blocked', chatId: chat.id, seq: posted.seq, reason: refused.blocked!.reason });
    await expect(refused.start()).rejects.toMatchObject({ code: 'e2ee_chat_blocked' });
    expect(
      b1
        .chat(other.id)
        .timeline()
        .map((m) => m.text),
    ).toEqual(['hi Bob']);
    await eventually(async () => (await failures('welcome_failed')) >= before + 1, 5000, 'welcome_failed reported');
  });

  it('an external commit that also removes another member\u2019s leaf is refused by every device (D4), though the server took it', async () => {
    const { alice, a1, b1, chatId, devices, chats } = await group();
    const a3 = await secondDevice(alice, a1);
    // Alice's third device, listed and certified, joins by an external commit crafted to remove Bob's device too:
    // an equality that calls Bob's leaf its own makes ts-mls put Remove(Bob) in the commit.
    const info = await alice.client.getGroupInfo({ chatId });
    const message = decodeMlsMessage(fromBase64(info.data), 0)![0];
    if (message.wireformat !== 'mls_group_info') throw new Error('Expected a GroupInfo');
    const bobKey = chats[2]!.group!.members().find((m) => m.deviceId === b1.deviceId)!.signatureKey;
    const kp = await a3.newKeyPackage();
    const cs = await cipherSuite();
    const hostile = await joinGroupExternal(message.groupInfo, kp.publicPackage, kp.privatePackage, true, cs, undefined, {
      ...a3.mls.config,
      keyPackageEqualityConfig: {
        compareKeyPackages: () => false,
        compareKeyPackageToLeafNode: (_, leaf) => Buffer.from(leaf.signaturePublicKey).equals(Buffer.from(bobKey)),
      },
    });
    const groupInfo = await createGroupInfoWithExternalPubAndRatchetTree(hostile.newState, [], cs);
    const posted = await a3.client.postCommit({
      chatId,
      clientCommitId: 'hostile',
      epoch: info.epoch,
      commit: toBase64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage: hostile.publicMessage })),
      groupInfo: toBase64(encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo })),
    });
    await Promise.all(devices.map((d) => d.sync()));
    // Alice's devices refuse it by the policy; Bob's, whose leaf it removes, already in ts-mls.
    for (const c of chats.slice(0, 2)) expect(c.blocked).toMatchObject({ seq: posted.seq, reason: expect.stringContaining(`removed device "${b1.deviceId}"`) });
    expect(chats[2]!.blocked?.seq).toBe(posted.seq);
    for (const c of chats) expect(c.group!.members().map((m) => m.deviceId)).toEqual(expect.arrayContaining([b1.deviceId]));
    expect(chats.map((c) => Number(c.group!.epoch))).toEqual([info.epoch, info.epoch, info.epoch]);
  });

  it('a ciphertext served again at another position is labelled as a replay, shown once, and reported; one moved to another message of its sender is detected', async () => {
    const { a1, a2, b1, chatId, chats } = await group();
    const before = await failures('replayed');
    const one = await a1.chat(chatId).send('one');
    const two = await a1.chat(chatId).send('two');
    const edit = await a1.chat(chatId).send('one, edited', { editOf: one.id });
    const db = t.server.ctx.db.kysely;
    const row = await db.selectFrom('messages').select('ciphertext').where('id', '=', one.id).executeTakeFirstOrThrow();
    // The second message's position and the edit now carry the first message's ciphertext.
    await db.updateTable('messages').set({ ciphertext: row.ciphertext }).where('id', 'in', [two.id, edit.id]).execute();
    await Promise.all([a1, a2, b1].map((d) => d.sync()));
    for (const c of chats) {
      expect(c.timeline().map((m) => [m.id, m.text, m.problem])).toEqual([
        [one.id, 'one', undefined],
        [two.id, null, 'replayed'],
      ]);
    }
    // Two replays seen by each of the three devices, the sender's included.
    await eventually(async () => (await failures('replayed')) >= before + 6, 5000, 'replays reported');

    // Two of Alice's messages with their ciphertexts swapped: each decrypts, but names the other message.
    const three = await a1.chat(chatId).send('three');
    const four = await a1.chat(chatId).send('four');
    const rows = await db.selectFrom('messages').select(['id', 'ciphertext']).where('id', 'in', [three.id, four.id]).execute();
    const of = (id: string) => rows.find((r) => r.id === id)!.ciphertext;
    const [c3, c4] = [of(three.id), of(four.id)];
    await db.updateTable('messages').set({ ciphertext: c4 }).where('id', '=', three.id).execute();
    await db.updateTable('messages').set({ ciphertext: c3 }).where('id', '=', four.id).execute();
    await b1.sync();
    expect(
      chats[2]!
        .timeline()
        .slice(-2)
        .map((m) => [m.id, m.text, m.problem]),
    ).toEqual([
      [three.id, null, 'metadata_mismatch'],
      [four.id, null, 'metadata_mismatch'],
    ]);
  });

  it('safety numbers are per pair of users and stay as devices come and go; a contact\u2019s identity reset is detected, refused until accepted, then the group moves to the new key', async () => {
    const { alice, bob, a1, a2, b1, chatId } = await group();
    const number = await a1.safetyNumber(bob.id);
    expect(number).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(await b1.safetyNumber(alice.id)).toBe(number);
    // Devices coming and going change nothing.
    const b2 = await secondDevice(bob, b1);
    expect(await b2.safetyNumber(alice.id)).toBe(number);
    await b2.client.logout();
    expect(await a1.safetyNumber(bob.id)).toBe(number);
    expect(a1.problems).toEqual([]);

    // Bob lost every device and his recovery key: he resets his identity and signs in anew.
    const newAik = await generateAik();
    await bob.client.putIdentity({ publicKey: toBase64(newAik.publicKey), reset: true, password: bob.password });
    const phone = t.client();
    await phone.login({ username: bob.username, password: bob.password, deviceName: 'bob-new-phone' });
    const nb = await E2eeDevice.setUp(phone, { aik: newAik });
    expect(nb.status).toBe('active');
    const renewed = await nb.safetyNumber(alice.id);
    expect(renewed).not.toBe(number);

    // Alice's device sends: it removes Bob's ended devices first, and so learns of the new key.
    const seen: string[] = [];
    a1.onProblem((p) => seen.push(p.kind));
    await a1.chat(chatId).send('while Bob is away');
    expect(seen).toEqual(['identity_changed']);
    expect(a1.identityChange(bob.id)?.offered).toEqual(newAik.publicKey);
    expect(await a1.safetyNumber(bob.id)).toBe(number);

    // Until Alice accepts it, Bob's new device cannot join the group, and nothing it certifies is let in.
    await expect(nb.chat(chatId).start()).rejects.toMatchObject({ code: 'mls_policy_violation' });
    expect(await a1.directory.validator().validate(await certOf(nb), nb.signatureKeyPair.publicKey)).toBe(false);
    expect(a1.directory.lastRefusal?.reason).toBe('certificate names another identity key');
    expect(seen).toEqual(['identity_changed']);

    // Accepting it: the same new number on both sides; one commit moves Bob's roster entry to the new key.
    expect(await a1.trustIdentity(bob.id)).toBe(renewed);
    expect(a1.identityChange(bob.id)).toBeUndefined();
    await nb.sync();
    await nb.chat(chatId).start();
    await a1.chat(chatId).send('welcome back');
    await nb.sync();
    expect(
      nb
        .chat(chatId)
        .timeline()
        .map((m) => m.text)
        .at(-1),
    ).toBe('welcome back');
    await nb.chat(chatId).send('hello from the new phone');
    await a1.sync();
    expect(
      a1
        .chat(chatId)
        .timeline()
        .map((m) => m.text)
        .at(-1),
    ).toBe('hello from the new phone');

    // Alice's other device has not accepted the new key: the new device's join waits there, and the chat with it.
    await a2.sync();
    const phoneChat = a2.chat(chatId);
    expect(phoneChat.awaitingIdentity?.userId).toBe(bob.id);
    expect(phoneChat.blocked).toBeUndefined();
    expect(a2.problems.map((p) => p.kind)).toEqual(['identity_changed']);
    await expect(phoneChat.send('too soon')).rejects.toMatchObject({ code: 'e2ee_identity_changed' });
    expect(await a2.trustIdentity(bob.id)).toBe(renewed);
    expect(phoneChat.awaitingIdentity).toBeUndefined();
    expect(
      phoneChat
        .timeline()
        .map((m) => m.text)
        .slice(-2),
    ).toEqual(['welcome back', 'hello from the new phone']);
    await phoneChat.send('from Alice\u2019s phone');
    await nb.sync();
    expect(
      nb
        .chat(chatId)
        .timeline()
        .map((m) => m.text)
        .at(-1),
    ).toBe('from Alice\u2019s phone');
  });

  it('two devices committing at one epoch, 50 times with random delays: one wins each time, the other catches up; all converge on the same epoch authenticator', async () => {
    const alice = await t.user(name('alice'));
    const bob = await t.user(name('bob'));
    const posts: { device: string; epoch: number; status: number }[] = [];
    const recorded = async (user: TestUser, label: string) => {
      const { client, control } = await tamperedClient(user, label);
      control.rewrite = (req, res) => {
        if (req.method === 'POST' && req.path.endsWith('/mls/commits'))
          posts.push({ device: label, epoch: (req.body as { epoch: number }).epoch, status: res.status });
        return undefined;
      };
      return client;
    };
    const a1 = await E2eeDevice.setUp(await recorded(alice, 'a1'));
    const b1 = await E2eeDevice.setUp(await recorded(bob, 'b1'));
    const a2 = await secondDevice(alice, a1);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await a1.chat(chat.id).start();
    const devices = [a1, b1, a2];
    await Promise.all(devices.map((d) => d.sync()));
    const chats: E2eeChat[] = devices.map((d) => d.chat(chat.id));
    const started = Date.now();
    for (let round = 0; round < 50; round++) {
      const epoch = Number(chats[0]!.group!.epoch);
      posts.length = 0;
      await Promise.all(
        [chats[0]!, chats[1]!].map(async (c) => {
          await sleep(Math.random() * 8);
          await c.update();
        }),
      );
      await Promise.all(devices.map((d) => d.sync()));
      const atEpoch = posts.filter((p) => p.epoch === epoch);
      expect(atEpoch.map((p) => p.status).sort()).toEqual([200, 409]);
      expect(posts.filter((p) => p.status === 200)).toHaveLength(2);
      expect(chats.map((c) => Number(c.group!.epoch))).toEqual([epoch + 2, epoch + 2, epoch + 2]);
      const authenticator = toBase64(chats[0]!.group!.epochAuthenticator);
      for (const c of chats.slice(1)) expect(toBase64(c.group!.epochAuthenticator)).toBe(authenticator);
    }
    expect(Date.now() - started).toBeLessThan(30_000);
    await a2.chat(chat.id).send('after 50 rounds');
    await Promise.all([a1, b1].map((d) => d.sync()));
    for (const c of chats.slice(0, 2)) expect(c.timeline().at(-1)?.text).toBe('after 50 rounds');
  });
});

/** The certificate a device registered (the one its KeyPackages carry). */
async function certOf(device: E2eeDevice): Promise<Uint8Array> {
  const { devices } = await device.client.listDevices({ userId: device.userId });
  return fromBase64(devices.find((d) => d.id === device.deviceId)!.cert!);
}
