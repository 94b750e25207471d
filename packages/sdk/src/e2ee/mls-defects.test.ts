import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tsMls from 'ts-mls';
import { defaultClientConfig } from 'ts-mls/clientConfig.js';
import { describe, expect, it } from 'vitest';
import { makeWorld, text, untext, type TestDevice } from './_fixtures.ts';
import { bytesEqual } from './codec.ts';
import { signDeviceList } from './device-list.ts';
import { encodeDeviceCert, signDeviceCert } from './identity.ts';
import { createMls, MlsGroup, PARLEY_CIPHERSUITE, type Mls } from './mls.ts';

// The ts-mls defects of E2EE design §1.3 that the wrapper designs around (D2–D6), each with a check that the library
// alone would have let the case through, and two devices committing at the same epoch.

async function twoMemberGroup() {
  const w = await makeWorld();
  const a1 = await w.device('alice', 'a1');
  const b1 = await w.device('bob', 'b1');
  await w.user('carol');
  const add = await w.mls.addDevices(await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice', 'bob', 'carol') }), [
    b1.keyPackage.encoded,
  ]);
  const bob = await w.mls.joinFromWelcome({ welcome: add.welcome!, keyPackage: b1.keyPackage });
  return { w, a1, b1, alice: add.group, bob, groupInfo: add.groupInfo };
}

async function readAll(mls: Mls, from: MlsGroup, to: MlsGroup, message: string): Promise<{ from: MlsGroup; to: MlsGroup }> {
  const sent = await mls.encrypt(from, text(message));
  const got = await mls.process(to, sent.message);
  expect(got.kind === 'application' && untext(got.plaintext)).toBe(message);
  return { from: sent.group, to: got.group };
}

const cipherSuite = () => tsMls.getCiphersuiteImpl(tsMls.getCiphersuiteFromName(PARLEY_CIPHERSUITE));

function publicMessageOf(bytes: Uint8Array): tsMls.PublicMessage {
  const m = tsMls.decodeMlsMessage(bytes, 0)?.[0];
  if (m?.wireformat !== 'mls_public_message') throw new Error('Expected a PublicMessage');
  return m.publicMessage;
}

describe('ts-mls defects handled by the wrapper', () => {
  it('D2: resync without a leaf of this device is refused at once instead of looping', { timeout: 30_000 }, () => {
    // ts-mls 1.6.4 would spin synchronously, so the scenario runs in a child process that a timeout can kill.
    const script = fileURLToPath(new URL('./_d2-resync.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 10_000 });
    expect(run.signal, 'the resync did not return').toBeNull();
    expect(run.stdout.trim()).toBe('mls_resync_no_leaf');
  });

  it('D3: a device that lost its keys resyncs and replaces its own leaf', async () => {
    const { w, alice, groupInfo } = await twoMemberGroup();
    const oldKey = alice.members().find((m) => m.deviceId === 'b1')!.signatureKey;
    const fresh = await w.device('bob', 'b1'); // same device id, new signature key and certificate, new list version
    const joined = await w.mls.joinExternal({ groupInfo, keyPackage: fresh.keyPackage, resync: true });
    const seen = await w.mls.process(alice, joined.commit);
    expect(seen).toMatchObject({ kind: 'commit', external: true });
    if (seen.kind !== 'commit') return;
    expect(seen.removed.map((m) => m.deviceId)).toEqual(['b1']);
    expect(seen.added.map((m) => m.deviceId)).toEqual(['b1']);
    const members = seen.group.members();
    expect(members.map((m) => `${m.userId}/${m.deviceId}`).sort()).toEqual(['alice/a1', 'bob/b1']);
    const b1Leaf = members.find((m) => m.deviceId === 'b1')!;
    expect(bytesEqual(b1Leaf.signatureKey, oldKey)).toBe(false);
    expect(bytesEqual(b1Leaf.signatureKey, fresh.signatureKeyPair.publicKey)).toBe(true);
    expect(seen.group.epochAuthenticator).toEqual(joined.group.epochAuthenticator);
    await readAll(w.mls, joined.group, seen.group, 'back again');
  });

  it('D4: an external commit that removes another member is refused by the policy', async () => {
    const { w, alice, bob, groupInfo } = await twoMemberGroup();
    const c1: TestDevice = await w.device('carol', 'c1'); // carol is in the roster, her AIK pinned
    const bobKey = bob.members().find((m) => m.deviceId === 'b1')!.signatureKey;
    // A joiner whose equality says "bob's leaf is mine": ts-mls then puts Remove(bob) into the external commit.
    const gi = tsMls.decodeMlsMessage(groupInfo, 0)?.[0];
    if (gi?.wireformat !== 'mls_group_info') throw new Error('Expected a GroupInfo');
    const cs = await cipherSuite();
    const hostile = await tsMls.joinGroupExternal(gi.groupInfo, c1.keyPackage.publicPackage, c1.keyPackage.privatePackage, true, cs, undefined, {
      ...w.mls.config,
      keyPackageEqualityConfig: { compareKeyPackages: () => false, compareKeyPackageToLeafNode: (_, leaf) => bytesEqual(leaf.signaturePublicKey, bobKey) },
    });
    const commit = tsMls.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_public_message', publicMessage: hostile.publicMessage });

    // The library alone accepts it (RFC 9420 leaves the check to the application)...
    const raw = await tsMls.processPublicMessage(alice.state, publicMessageOf(commit), tsMls.makePskIndex(alice.state, {}), cs);
    expect(raw.newState.groupContext.epoch).toBe(alice.epoch + 1n);
    // ...the wrapper does not.
    await expect(w.mls.process(alice, commit)).rejects.toMatchObject({ code: 'mls_policy_violation' });

    // An honest external join by the same device is accepted.
    const honest = await w.mls.joinExternal({ groupInfo, keyPackage: c1.keyPackage, resync: false });
    const seen = await w.mls.process(alice, honest.commit);
    expect(seen.kind === 'commit' && seen.added.map((m) => m.deviceId)).toEqual(['c1']);
  });

  it('D5: a restored state still runs the authentication service and refuses a device outside the signed list', async () => {
    const { w, alice, bob } = await twoMemberGroup();
    const ghost = await w.device('bob', 'ghost', { listed: false });
    // Bob's client trusts everything (a compromised or buggy member); Alice's restored state must not.
    const trusting = await createMls({ validator: { validate: async () => true } });
    const bobTrusting = trusting.restoreState(w.mls.encodeState(bob));
    const bundle = await trusting.addDevices(bobTrusting, [ghost.keyPackage.encoded]);

    const stored = w.mls.encodeState(alice);
    const restored = w.mls.restoreState(stored);
    await expect(w.mls.process(restored, bundle.commit)).rejects.toMatchObject({ code: 'mls_process_failed' });

    // Decoding the same bytes straight through ts-mls gets the library default config, which accepts the ghost.
    const decoded = tsMls.decodeGroupState(stored.subarray(1), 0)![0];
    const bare = { ...decoded, clientConfig: defaultClientConfig };
    const raw = await tsMls.processPublicMessage(bare, publicMessageOf(bundle.commit), tsMls.makePskIndex(bare, {}), await cipherSuite());
    expect(raw.newState.groupContext.epoch).toBe(alice.epoch + 1n);
    // Handed to the wrapper, even that state runs under Parley's config.
    await expect(w.mls.process(new MlsGroup(bare), bundle.commit)).rejects.toMatchObject({ code: 'mls_process_failed' });
  });

  it('D6: a commit whose path leaf changes the leaf to another device is refused', async () => {
    const { w, alice, bob, b1 } = await twoMemberGroup();
    const bobUser = w.users.get('bob')!;
    // b3 is a genuine, listed device of Bob; its certificate is made for b1's signature key, so the AS accepts it.
    const cert = await signDeviceCert(bobUser.aik, { userId: 'bob', deviceId: 'b3', signatureKey: b1.signatureKeyPair.publicKey });
    bobUser.list = await signDeviceList(bobUser.aik, {
      userId: 'bob',
      previous: bobUser.list,
      devices: [...bobUser.list!.devices, { deviceId: 'b3', signatureKey: b1.signatureKeyPair.publicKey, issuedAt: Date.now() }],
    });
    const tree = [...bob.state.ratchetTree];
    const node = tree[bob.ownLeafIndex * 2];
    if (node?.nodeType !== 'leaf') throw new Error('Expected a leaf');
    tree[bob.ownLeafIndex * 2] = { nodeType: 'leaf', leaf: { ...node.leaf, credential: { credentialType: 'basic', identity: encodeDeviceCert(cert) } } };
    const update = await w.mls.selfUpdate(new MlsGroup({ ...bob.state, ratchetTree: tree }));

    const raw = await tsMls.processPublicMessage(alice.state, publicMessageOf(update.commit), tsMls.makePskIndex(alice.state, {}), await cipherSuite());
    expect(raw.newState.groupContext.epoch).toBe(alice.epoch + 1n);
    await expect(w.mls.process(alice, update.commit)).rejects.toMatchObject({ code: 'mls_policy_violation' });

    // An honest self-update keeps the identity and is accepted.
    const honest = await w.mls.selfUpdate(bob);
    const seen = await w.mls.process(alice, honest.commit);
    expect(seen.group.epochAuthenticator).toEqual(honest.group.epochAuthenticator);
  });
});

describe('concurrent commits', () => {
  it('two devices commit at one epoch: the loser catches up, retries, and both end on the same epoch authenticator', async () => {
    const { w, alice, bob } = await twoMemberGroup();
    const fromAlice = await w.mls.selfUpdate(alice);
    const fromBob = await w.mls.selfUpdate(bob);
    expect(fromBob.group.epoch).toBe(fromAlice.group.epoch);

    // The server takes Alice's (epoch compare-and-swap); Bob drops his pending state and processes hers.
    const bobCaughtUp = await w.mls.process(bob, fromAlice.commit);
    expect(bobCaughtUp.group.epochAuthenticator).toEqual(fromAlice.group.epochAuthenticator);
    await expect(w.mls.process(fromAlice.group, fromBob.commit)).rejects.toMatchObject({ code: 'mls_process_failed' });

    const retry = await w.mls.selfUpdate(bobCaughtUp.group);
    const aliceNow = await w.mls.process(fromAlice.group, retry.commit);
    expect(aliceNow.group.epoch).toBe(alice.epoch + 2n);
    expect(aliceNow.group.epochAuthenticator).toEqual(retry.group.epochAuthenticator);
    await readAll(w.mls, retry.group, aliceNow.group, 'converged');
  });
});
