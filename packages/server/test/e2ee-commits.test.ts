import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCommit,
  createGroup,
  createGroupInfoWithExternalPubAndRatchetTree,
  decodeMlsMessage,
  defaultCapabilities,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  joinGroup,
  joinGroupExternal,
  processPublicMessage,
  type ClientState,
  type KeyPackage,
  type MLSMessage,
  type PrivateKeyPackage,
} from 'ts-mls';
import { type ChatEvent, type ParleyClient, type ParleyError } from '@parley/sdk';
import { FramingError, readCommit, readGroupInfo, readWelcome } from '../src/modules/mls/framing.ts';
import { advanceEpoch } from '../src/modules/mls/mls.store.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { b64, cipherSuite, deviceCert, deviceKeys, identityKey } from './_mls.ts';

// The delivery service with real MLS messages made by ts-mls: groups per chat, commits ordered by
// the epoch compare-and-swap, the mls.commit events that carry them, and the GroupInfo.

const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A device with MLS keys, a certificate, and (once in a group) its state. */
interface MlsDevice {
  user: TestUser;
  client: ParleyClient;
  id: string;
  keys: { signKey: Uint8Array; publicKey: Uint8Array };
  cert: Buffer;
  state?: ClientState;
}

interface Bundle {
  commit: Uint8Array;
  groupInfo: Uint8Array;
  welcome?: Uint8Array;
  newState: ClientState;
  message: MLSMessage;
}

async function keyPackage(d: MlsDevice): Promise<{ publicPackage: KeyPackage; privatePackage: PrivateKeyPackage }> {
  const now = BigInt(Math.floor(Date.now() / 1000));
  return generateKeyPackageWithKey(
    { credentialType: 'basic', identity: d.cert },
    defaultCapabilities(),
    { notBefore: now - 60n, notAfter: now + 86_400n },
    [],
    d.keys,
    await cipherSuite(),
  );
}

/** A commit of d's group (a self-update, or adds), framed as a PublicMessage, with the new epoch's GroupInfo. */
async function makeCommit(state: ClientState, options: { add?: KeyPackage[] } = {}): Promise<Bundle> {
  const cs = await cipherSuite();
  const r = await createCommit(
    { state, cipherSuite: cs },
    {
      wireAsPublicMessage: true,
      ratchetTreeExtension: true,
      extraProposals: (options.add ?? []).map((keyPackage) => ({ proposalType: 'add', add: { keyPackage } })),
    },
  );
  const groupInfo = await createGroupInfoWithExternalPubAndRatchetTree(r.newState, [], cs);
  return {
    commit: encodeMlsMessage(r.commit),
    groupInfo: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo }),
    ...(r.welcome ? { welcome: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome }) } : {}),
    newState: r.newState,
    message: r.commit,
  };
}

async function processCommit(state: ClientState, commit: Uint8Array): Promise<ClientState> {
  const decoded = decodeMlsMessage(commit, 0)![0];
  if (decoded.wireformat !== 'mls_public_message') throw new Error('not a public message');
  return (await processPublicMessage(state, decoded.publicMessage, emptyPskIndex, await cipherSuite())).newState;
}

const epochOf = (state: ClientState) => Number(state.groupContext.epoch);

describe('commit bundle framing against ts-mls', async () => {
  const user = { id: 'u1' } as TestUser;
  const keys = await deviceKeys();
  const d: MlsDevice = {
    user,
    client: undefined as unknown as ParleyClient,
    id: 'd1',
    keys,
    cert: deviceCert(identityKey(), { userId: 'u1', deviceId: 'd1', signatureKey: keys.publicKey }),
  };
  const otherKeys = await deviceKeys();
  const other: MlsDevice = {
    ...d,
    id: 'd2',
    keys: otherKeys,
    cert: deviceCert(identityKey(), { userId: 'u2', deviceId: 'd2', signatureKey: otherKeys.publicKey }),
  };
  const groupId = randomBytes(32);
  const kp = await keyPackage(d);
  const state = await createGroup(groupId, kp.publicPackage, kp.privatePackage, [], await cipherSuite());
  const b = await makeCommit(state, { add: [(await keyPackage(other)).publicPackage] });
  const readers = { commit: readCommit, groupInfo: readGroupInfo, welcome: readWelcome };
  const outcome = (read: (bytes: Uint8Array) => unknown, bytes: Uint8Array) => {
    try {
      read(bytes);
      return 'accepted';
    } catch (err) {
      if (err instanceof FramingError) return 'refused';
      throw err;
    }
  };

  it('reads what ts-mls writes', () => {
    expect(readCommit(b.commit)).toMatchObject({ groupId: new Uint8Array(groupId), epoch: 0n, sender: 'member', leafIndex: 0 });
    expect(readGroupInfo(b.groupInfo)).toMatchObject({ cipherSuite: 1, groupId: new Uint8Array(groupId), epoch: 1n });
    expect(readWelcome(b.welcome!)).toEqual({ cipherSuite: 1, secrets: 1 });
  });

  it('refuses each message as another, truncated GroupInfos and Welcomes, and throws nothing but FramingError on bent bytes', () => {
    const bytes = { commit: b.commit, groupInfo: b.groupInfo, welcome: b.welcome! };
    for (const [name, read] of Object.entries(readers)) {
      for (const [otherName, otherBytes] of Object.entries(bytes)) if (otherName !== name) expect(outcome(read, otherBytes)).toBe('refused');
    }
    for (const name of ['groupInfo', 'welcome'] as const) {
      const whole = bytes[name];
      for (let n = 0; n < whole.length; n += 7) expect(outcome(readers[name], whole.subarray(0, n))).toBe('refused');
      expect(outcome(readers[name], Buffer.concat([whole, Buffer.from([0])]))).toBe('refused');
    }
    for (const [name, whole] of Object.entries(bytes)) {
      fc.assert(
        fc.property(fc.nat({ max: whole.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.uint8Array({ maxLength: 30 }), (at, xor, insert) => {
          const bent = Buffer.from(whole);
          bent[at]! ^= xor;
          outcome(readers[name as keyof typeof readers], bent);
          outcome(readers[name as keyof typeof readers], Buffer.concat([whole.subarray(0, at), insert, whole.subarray(at)]));
        }),
        { numRuns: 500 },
      );
    }
  });
});

describe.each(await stores())('E2EE delivery service on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  const name = (base: string) => `${base}${++n}`;
  let commitIds = 0;
  const commitId = () => `c${++commitIds}`;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_WRITE_RATE: '100000/10s', PARLEY_LOGIN_LIMIT: '1000/60s' });
  });
  afterAll(async () => t?.close());

  const db = () => t.server.ctx.db.kysely;

  /** A user with an identity key and one active device. */
  async function device(base: string): Promise<MlsDevice> {
    const user = await t.user(name(base));
    const aik = identityKey();
    await user.client.putIdentity({ publicKey: b64(aik.publicKey), recoveryBlob: b64(randomBytes(80)) });
    const keys = await deviceKeys();
    const cert = deviceCert(aik, { userId: user.id, deviceId: user.session.sessionId, signatureKey: keys.publicKey });
    expect((await user.client.registerDevice({ signaturePublicKey: b64(keys.publicKey), cert: b64(cert) })).status).toBe('active');
    return { user, client: user.client, id: user.session.sessionId, keys, cert };
  }

  async function newGroup(d: MlsDevice, groupId = randomBytes(32)): Promise<{ groupId: Buffer; state: ClientState }> {
    const kp = await keyPackage(d);
    return { groupId, state: await createGroup(groupId, kp.publicPackage, kp.privatePackage, [], await cipherSuite()) };
  }

  const post = (d: MlsDevice, chatId: string, epoch: number, b: Bundle, extra: Record<string, unknown> = {}) =>
    d.client.postCommit({
      chatId,
      clientCommitId: commitId(),
      epoch,
      commit: b64(b.commit),
      groupInfo: b64(b.groupInfo),
      ...(b.welcome ? { welcome: b64(b.welcome) } : {}),
      ...extra,
    });

  /** Alice and Bob's private chat, its group made by Alice's device with Bob's device added, Bob joined from the Welcome. */
  async function pair(): Promise<{ alice: MlsDevice; bob: MlsDevice; chatId: string; groupId: Buffer }> {
    const alice = await device('alice');
    const bob = await device('bob');
    const chat = await alice.client.createPrivateChat({ userId: bob.user.id });
    const { groupId, state } = await newGroup(alice);
    const bobKp = await keyPackage(bob);
    const b = await makeCommit(state, { add: [bobKp.publicPackage] });
    const res = await post(alice, chat.id, 0, b, {
      init: { groupId: b64(groupId), cipherSuite: 1 },
      addDevices: [{ userId: bob.user.id, deviceId: bob.id }],
    });
    expect(res.epoch).toBe(1);
    alice.state = b.newState;
    const welcome = decodeMlsMessage(b.welcome!, 0)![0];
    if (welcome.wireformat !== 'mls_welcome') throw new Error('not a welcome');
    bob.state = await joinGroup(welcome.welcome, bobKp.publicPackage, bobKp.privatePackage, emptyPskIndex, await cipherSuite());
    expect(epochOf(bob.state)).toBe(1);
    return { alice, bob, chatId: chat.id, groupId };
  }

  const chatRow = (chatId: string) => db().selectFrom('chats').select(['e2ee', 'mls_epoch', 'last_seq']).where('id', '=', chatId).executeTakeFirstOrThrow();
  const commitCount = async (chatId: string) => (await db().selectFrom('mls_commits').select('epoch').where('chat_id', '=', chatId).execute()).length;
  const mlsEvents = async (client: ParleyClient, chatId: string) =>
    (await client.getChanges({ userSeq: 0, chats: { [chatId]: 0 } })).events.filter((e): e is ChatEvent => e.log === 'chat' && e.type === 'mls.commit');

  it('creates a chat group once: of two concurrent inits one wins, the other gets 409 with the epoch', async () => {
    const alice = await device('alice');
    const bob = await device('bob');
    const chat = await alice.client.createPrivateChat({ userId: bob.user.id });
    expect((await fail(alice.client.getGroupInfo({ chatId: chat.id }))).status).toBe(404);
    const ga = await newGroup(alice);
    const gb = await newGroup(bob);
    const [ba, bb] = await Promise.all([makeCommit(ga.state), makeCommit(gb.state)]);
    const init = (g: { groupId: Buffer }) => ({ init: { groupId: b64(g.groupId), cipherSuite: 1 } });
    const outcomes = await Promise.allSettled([post(alice, chat.id, 0, ba, init(ga)), post(bob, chat.id, 0, bb, init(gb))]);
    const won = outcomes.findIndex((o) => o.status === 'fulfilled');
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const lost = outcomes[1 - won] as PromiseRejectedResult;
    expect([(lost.reason as ParleyError).status, (lost.reason as ParleyError).code]).toEqual([409, 'mls_epoch_conflict']);
    expect((lost.reason as ParleyError).message).toContain('epoch 1');

    const winner = won === 0 ? { g: ga, b: ba } : { g: gb, b: bb };
    expect(await chatRow(chat.id)).toMatchObject({ e2ee: 1 });
    expect(Number((await chatRow(chat.id)).mls_epoch)).toBe(1);
    const info = await bob.client.getGroupInfo({ chatId: chat.id });
    expect(info).toMatchObject({ groupId: b64(winner.g.groupId), epoch: 1, data: b64(winner.b.groupInfo) });
    expect(await commitCount(chat.id)).toBe(1);

    // Another init later is refused the same way.
    const again = await fail(post(alice, chat.id, 0, ba, init(ga)));
    expect([again.status, again.code]).toEqual([409, 'mls_epoch_conflict']);
  });

  it('takes no text into the chat once its group exists: a plaintext send or edit is 409 e2ee_required and writes nothing', async () => {
    const alice = await device('alice');
    const bob = await device('bob');
    const chat = await alice.client.createPrivateChat({ userId: bob.user.id });
    const before = await alice.client.sendMessage({ chatId: chat.id, clientMessageId: 'plain', text: 'said before encryption' });
    const { groupId, state } = await newGroup(alice);
    await post(alice, chat.id, 0, await makeCommit(state), { init: { groupId: b64(groupId), cipherSuite: 1 } });
    const lastSeq = Number((await chatRow(chat.id)).last_seq);
    const sent = await fail(bob.client.sendMessage({ chatId: chat.id, clientMessageId: 'leak', text: 'secret words' }));
    expect([sent.status, sent.code]).toEqual([409, 'e2ee_required']);
    const edited = await fail(alice.client.editMessage({ chatId: chat.id, messageId: before.id, text: 'secret words' }));
    expect([edited.status, edited.code]).toEqual([409, 'e2ee_required']);
    expect(Number((await chatRow(chat.id)).last_seq)).toBe(lastSeq);
    const texts = await db().selectFrom('messages').select('text').where('chat_id', '=', chat.id).execute();
    expect(texts.map((r) => r.text)).toEqual(['said before encryption']);
  });

  it('orders commits at one epoch: in each of 20 rounds exactly one wins, positions without gaps, events byte-exact in order', async () => {
    const { alice, bob, chatId } = await pair();
    const winners: Uint8Array[] = [];
    const seqs: number[] = [];
    let lastInfo: Uint8Array | undefined;
    for (let round = 0; round < 20; round++) {
      const epoch = epochOf(alice.state!);
      expect(epochOf(bob.state!)).toBe(epoch);
      const [ba, bb] = await Promise.all([makeCommit(alice.state!), makeCommit(bob.state!)]);
      const send = async (d: MlsDevice, b: Bundle) => {
        await sleep(Math.random() * 5);
        return post(d, chatId, epoch, b);
      };
      const outcomes = await Promise.allSettled([send(alice, ba), send(bob, bb)]);
      const ok = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [{ i, r: o.value }] : []));
      expect(ok).toHaveLength(1);
      const loss = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect([(loss.reason as ParleyError).status, (loss.reason as ParleyError).code]).toEqual([409, 'mls_epoch_conflict']);
      expect((loss.reason as ParleyError).message).toContain(`epoch ${epoch + 1}`);
      const win = ok[0]!;
      expect(win.r.epoch).toBe(epoch + 1);
      const [wd, wb, ld] = win.i === 0 ? [alice, ba, bob] : [bob, bb, alice];
      wd.state = wb.newState;
      ld.state = await processCommit(ld.state!, wb.commit);
      winners.push(wb.commit);
      seqs.push(win.r.seq);
      lastInfo = wb.groupInfo;
    }
    expect(epochOf(alice.state!)).toBe(21);
    expect(epochOf(bob.state!)).toBe(21);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
    expect(Number((await chatRow(chatId)).mls_epoch)).toBe(21);

    // Every device reads the same commits, in order, as they were posted.
    for (const d of [alice, bob]) {
      const events = await mlsEvents(d.client, chatId);
      expect(events).toHaveLength(21);
      expect(events.map((e) => e.mls!.epoch)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
      expect(events.slice(1).map((e) => e.seq)).toEqual(seqs);
      expect(events.slice(1).map((e) => Buffer.from(e.mls!.payload, 'base64'))).toEqual(winners.map((w) => Buffer.from(w)));
      expect(events[0]!.mls).toMatchObject({ senderDeviceId: alice.id, addedDevices: [{ userId: bob.user.id, deviceId: bob.id }], removedDevices: [] });
      expect(events[0]!.mls!.welcome).toBeDefined();
    }
    // A device that starts from the first event's commit reaches the same epoch.
    const info = await alice.client.getGroupInfo({ chatId });
    expect(info).toMatchObject({ epoch: 21, seq: seqs.at(-1), data: b64(lastInfo!) });
    expect(await commitCount(chatId)).toBe(21);
  });

  // The HTTP rounds above are also guarded by mls_commits' key (group, epoch); this checks the statement itself.
  it.runIf(kind === 'postgres')('lets one of 8 transactions on parallel connections through the compare-and-swap', async () => {
    const { chatId } = await pair();
    const before = await chatRow(chatId);
    const results = await Promise.all(Array.from({ length: 8 }, () => t.server.ctx.db.transaction((tx) => advanceEpoch(tx, { chatId, epoch: 1 }))));
    const through = results.filter((r) => r !== undefined);
    expect(through).toEqual([{ seq: Number(before.last_seq) + 1, epoch: 2 }]);
    expect(Number((await chatRow(chatId)).last_seq)).toBe(Number(before.last_seq) + 1);
  });

  it('returns the original for a retried commit, even after the epoch moved on; a stale epoch is 409', async () => {
    const { alice, bob, chatId } = await pair();
    const b1 = await makeCommit(alice.state!);
    const body = { chatId, clientCommitId: commitId(), epoch: 1, commit: b64(b1.commit), groupInfo: b64(b1.groupInfo) };
    const first = await alice.client.postCommit(body);
    expect(first.epoch).toBe(2);
    alice.state = b1.newState;
    bob.state = await processCommit(bob.state!, b1.commit);
    expect(await alice.client.postCommit(body)).toEqual(first);

    const b2 = await makeCommit(bob.state!);
    expect((await post(bob, chatId, 2, b2)).epoch).toBe(3);
    alice.state = await processCommit(alice.state!, b2.commit);
    // Still the original after another commit; nothing new written.
    const before = await chatRow(chatId);
    expect(await alice.client.postCommit(body)).toEqual(first);
    expect(await chatRow(chatId)).toEqual(before);

    // A commit framed at an old epoch, honestly posted at it.
    const stale = await fail(post(alice, chatId, 1, b1));
    expect([stale.status, stale.code]).toEqual([409, 'mls_epoch_conflict']);
    expect(stale.message).toContain('epoch 3');
    expect(await chatRow(chatId)).toEqual(before);
    expect(await commitCount(chatId)).toBe(3);
  });

  it('refuses garbage, other wire formats, another group, a wrong epoch and a wrong GroupInfo with 400, writing nothing', async () => {
    const { alice, chatId } = await pair();
    const good = await makeCommit(alice.state!);
    const other = await newGroup(alice);
    // Another group at the same epoch, so only the group id differs.
    const foreign = await makeCommit((await makeCommit(other.state)).newState);
    const before = await chatRow(chatId);
    const withWf = (bytes: Uint8Array, wf: number) => {
      const c = Buffer.from(bytes);
      c.writeUInt16BE(wf, 2);
      return c;
    };
    const cases: [string, Partial<Bundle>][] = [
      ['garbage', { commit: randomBytes(200) }],
      ['empty-ish', { commit: Buffer.from([0, 1, 0, 1]) }],
      ['a private-message wire format', { commit: withWf(good.commit, 2) }],
      ['a GroupInfo as the commit', { commit: good.groupInfo }],
      ['a truncated commit', { commit: good.commit.subarray(0, 40) }],
      ['another group', { commit: foreign.commit }],
      ['another group\u2019s GroupInfo', { groupInfo: foreign.groupInfo }],
      ['a commit as the GroupInfo', { groupInfo: good.commit }],
      ['GroupInfo with a byte more', { groupInfo: Buffer.concat([good.groupInfo, Buffer.from([0])]) }],
      ['a Welcome without added devices', { welcome: good.groupInfo }],
    ];
    for (const [what, patch] of cases) {
      const err = await fail(post(alice, chatId, 1, { ...good, ...patch }));
      expect([what, err.status, err.code]).toEqual([what, 400, 'mls_commit_invalid']);
    }
    // The right group at the wrong epoch in its framing: posted at epoch 2, framed at 1.
    await db().updateTable('chats').set({ mls_epoch: 2 }).where('id', '=', chatId).execute();
    const framedAt1 = await fail(post(alice, chatId, 2, good));
    expect([framedAt1.status, framedAt1.code]).toEqual([400, 'mls_commit_invalid']);
    expect(framedAt1.message).toContain('epoch 1');
    await db().updateTable('chats').set({ mls_epoch: 1 }).where('id', '=', chatId).execute();

    expect(await chatRow(chatId)).toEqual(before);
    expect(await commitCount(chatId)).toBe(1);
    expect(await mlsEvents(alice.client, chatId)).toHaveLength(1);
    // The honest one still goes through at the same epoch.
    expect((await post(alice, chatId, 1, good)).epoch).toBe(2);
  });

  it('gives a self chat its group; a second device joins it by external commit from the GroupInfo', async () => {
    const alice = await device('alice');
    const self = (await alice.client.listChats()).chats.find((c) => c.kind === 'self')!;
    const g = await newGroup(alice);
    const b0 = await makeCommit(g.state);
    expect(await post(alice, self.id, 0, b0, { init: { groupId: b64(g.groupId), cipherSuite: 1 } })).toMatchObject({ epoch: 1 });
    alice.state = b0.newState;

    // Alice's second device, approved by the first.
    const client = t.client();
    const session = await client.login({ username: alice.user.username, password: alice.user.password, deviceName: 'laptop' });
    const keys = await deviceKeys();
    const aik = identityKey();
    const cert = deviceCert(aik, { userId: alice.user.id, deviceId: session.sessionId, signatureKey: keys.publicKey });
    await client.registerDevice({ signaturePublicKey: b64(keys.publicKey), linkCommitment: b64(randomBytes(32)), cert: b64(cert) });
    await alice.client.approveDevice({ deviceId: session.sessionId, cert: b64(cert) });
    const laptop: MlsDevice = { user: alice.user, client, id: session.sessionId, keys, cert };

    const info = await laptop.client.getGroupInfo({ chatId: self.id });
    expect(info).toMatchObject({ groupId: b64(g.groupId), epoch: 1, data: b64(b0.groupInfo) });
    const decoded = decodeMlsMessage(Buffer.from(info.data, 'base64'), 0)![0];
    if (decoded.wireformat !== 'mls_group_info') throw new Error('not a GroupInfo');
    const kp = await keyPackage(laptop);
    const joined = await joinGroupExternal(decoded.groupInfo, kp.publicPackage, kp.privatePackage, false, await cipherSuite());
    const cs = await cipherSuite();
    const external: Bundle = {
      commit: encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage: joined.publicMessage }),
      groupInfo: encodeMlsMessage({
        version: 'mls10',
        wireformat: 'mls_group_info',
        groupInfo: await createGroupInfoWithExternalPubAndRatchetTree(joined.newState, [], cs),
      }),
      newState: joined.newState,
      message: { version: 'mls10', wireformat: 'mls_public_message', publicMessage: joined.publicMessage },
    };
    // An external commit adds only its committer.
    const extra = await fail(post(laptop, self.id, 1, external, { addDevices: [{ userId: alice.user.id, deviceId: alice.id }], welcome: b64(b0.groupInfo) }));
    expect([extra.status, extra.code]).toEqual([400, 'mls_commit_invalid']);
    expect(await post(laptop, self.id, 1, external)).toMatchObject({ epoch: 2 });
    alice.state = await processCommit(alice.state!, external.commit);
    expect(epochOf(alice.state)).toBe(2);

    const devices = await db()
      .selectFrom('mls_group_devices')
      .select(['device_id', 'joined_epoch'])
      .where('chat_id', '=', self.id)
      .orderBy('joined_epoch')
      .execute();
    expect(devices.map((d) => [d.device_id, Number(d.joined_epoch)])).toEqual([
      [alice.id, 1],
      [laptop.id, 2],
    ]);
    const events = await mlsEvents(alice.client, self.id);
    expect(events.map((e) => e.mls!.senderDeviceId)).toEqual([alice.id, laptop.id]);

    // A device outside the group cannot commit as a member.
    const outsider = await makeCommit(joined.newState);
    await db().deleteFrom('mls_group_devices').where('device_id', '=', laptop.id).execute();
    const refused = await fail(post(laptop, self.id, 2, outsider));
    expect([refused.status, refused.code]).toEqual([403, 'forbidden']);
    expect(Number((await chatRow(self.id)).mls_epoch)).toBe(2);
  });

  it('answers 404 to non-members, refuses devices that are not active, and channels', async () => {
    const { alice, chatId } = await pair();
    const b = await makeCommit(alice.state!);
    const mallory = await device('mallory');
    expect((await fail(post(mallory, chatId, 1, b))).status).toBe(404);
    expect((await fail(mallory.client.getGroupInfo({ chatId }))).status).toBe(404);
    expect((await fail(post(mallory, 'nochat', 1, b))).status).toBe(404);

    // A second sign-in of Alice's, registered but not approved: not an active device.
    const pending = t.client();
    const session = await pending.login({ username: alice.user.username, password: alice.user.password, deviceName: 'new' });
    const keys = await deviceKeys();
    await pending.registerDevice({ signaturePublicKey: b64(keys.publicKey), linkCommitment: b64(randomBytes(32)) });
    const notActive = await fail(pending.postCommit({ chatId, clientCommitId: commitId(), epoch: 1, commit: b64(b.commit), groupInfo: b64(b.groupInfo) }));
    expect([notActive.status, notActive.code]).toEqual([409, 'device_not_active']);
    expect(session.sessionId).not.toBe(alice.id);

    // An ended device is refused even if its session were still there; its session ending ends it too.
    await db().updateTable('devices').set({ status: 'ended' }).where('id', '=', alice.id).execute();
    const ended = await fail(post(alice, chatId, 1, b));
    expect([ended.status, ended.code]).toEqual([409, 'device_not_active']);
    await db().updateTable('devices').set({ status: 'active' }).where('id', '=', alice.id).execute();
    await alice.client.logout();
    expect((await fail(post(alice, chatId, 1, b))).status).toBe(401);
    expect(Number((await chatRow(chatId)).mls_epoch)).toBe(1);

    // Channels are never end-to-end encrypted.
    const owner = await device('owner');
    const channel = await owner.client.createChannel({ title: 'news' });
    const g = await newGroup(owner);
    const cb = await makeCommit(g.state);
    const refused = await fail(post(owner, channel.id, 0, cb, { init: { groupId: b64(g.groupId), cipherSuite: 1 } }));
    expect([refused.status, refused.code]).toEqual([400, 'invalid_request']);
    expect(await chatRow(channel.id)).toMatchObject({ e2ee: 0, mls_epoch: null });
  });
});
