import * as tsMls from 'ts-mls';
import * as oldMls from 'ts-mls-old';
import { makeKeyPackageRef } from 'ts-mls-old/keyPackage.js';
import { decryptSenderData } from 'ts-mls-old/privateMessage.js';
import { decodeRatchetTree } from 'ts-mls-old/ratchetTree.js';
import { describe, expect, it } from 'vitest';
import { makeWorld, text, untext } from './_fixtures.ts';
import { MlsGroup, type MlsLibrary } from './mls.ts';

// D1 (E2EE design §1.3, §11 T2): ts-mls up to 1.6.2 sends a commit whose only proposal is one Remove without an
// UpdatePath, so the removed device, with its state forced back to "active", still derives the next epoch's keys.
// The same scenario runs on the pinned 1.6.4 (must not decrypt) and on 1.6.2 (does decrypt: proves the test bites).

const tsMls162 = { ...oldMls, decodeRatchetTree, decryptSenderData, makeKeyPackageRef } as unknown as MlsLibrary;

async function removedDeviceReads(library?: MlsLibrary): Promise<{ bobRead: string; carolForcedRead: string | Error; removalHasPath: boolean }> {
  const w = await makeWorld({ library });
  const a1 = await w.device('alice', 'a1');
  const b1 = await w.device('bob', 'b1');
  const c1 = await w.device('carol', 'c1');
  const created = await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice', 'bob', 'carol') });
  const add = await w.mls.addDevices(created, [b1.keyPackage.encoded, c1.keyPackage.encoded]);
  let bob = await w.mls.joinFromWelcome({ welcome: add.welcome!, keyPackage: b1.keyPackage });
  const carol = await w.mls.joinFromWelcome({ welcome: add.welcome!, keyPackage: c1.keyPackage });

  const removal = await w.mls.removeDevices(add.group, [{ userId: 'carol', deviceId: 'c1' }]);
  const decoded = (library ?? tsMls).decodeMlsMessage(removal.commit, 0)?.[0];
  const content = decoded?.wireformat === 'mls_public_message' ? decoded.publicMessage.content : undefined;
  const removalHasPath = content?.contentType === 'commit' && content.commit.path !== undefined;
  const bobStep = await w.mls.process(bob, removal.commit);
  bob = bobStep.group;
  const carolStep = await w.mls.process(carol, removal.commit);
  expect(carolStep.group.active).toBe(false);
  const carolForced = new MlsGroup({ ...carolStep.group.state, groupActiveState: { kind: 'active' } });

  const sent = await w.mls.encrypt(removal.group, text('after carol left'));
  const bobGot = await w.mls.process(bob, sent.message);
  const carolGot = await w.mls.process(carolForced, sent.message).catch((err: Error) => err);
  return {
    removalHasPath,
    bobRead: bobGot.kind === 'application' ? untext(bobGot.plaintext) : '',
    carolForcedRead: carolGot instanceof Error ? carolGot : carolGot.kind === 'application' ? untext(carolGot.plaintext) : '',
  };
}

describe('a removed device cannot read (D1)', () => {
  it('on ts-mls 1.6.4 the removed device, forced active, does not decrypt the next message', async () => {
    const { bobRead, carolForcedRead, removalHasPath } = await removedDeviceReads();
    expect(removalHasPath).toBe(true);
    expect(bobRead).toBe('after carol left');
    expect(carolForcedRead).toBeInstanceOf(Error);
  });

  it('on ts-mls 1.6.2 the same scenario decrypts (the test detects the defect)', async () => {
    const { bobRead, carolForcedRead, removalHasPath } = await removedDeviceReads(tsMls162);
    expect(removalHasPath).toBe(false);
    expect(bobRead).toBe('after carol left');
    expect(carolForcedRead).toBe('after carol left');
  });

  it('a snapshot taken before the removal does not decrypt either', async () => {
    const w = await makeWorld();
    const a1 = await w.device('alice', 'a1');
    const c1 = await w.device('carol', 'c1');
    const add = await w.mls.addDevices(await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice', 'carol') }), [c1.keyPackage.encoded]);
    const snapshot = await w.mls.joinFromWelcome({ welcome: add.welcome!, keyPackage: c1.keyPackage });
    const removal = await w.mls.removeDevices(add.group, [{ userId: 'carol', deviceId: 'c1' }]);
    const sent = await w.mls.encrypt(removal.group, text('secret'));
    await expect(w.mls.process(snapshot, sent.message)).rejects.toMatchObject({ code: 'mls_process_failed' });
  });
});
