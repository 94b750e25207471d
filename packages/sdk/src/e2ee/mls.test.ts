import { describe, expect, it } from 'vitest';
import { makeWorld, text, untext } from './_fixtures.ts';
import { MlsGroup } from './mls.ts';

describe('MLS wrapper', () => {
  it('creates a group, adds devices of two users, and they exchange messages', async () => {
    const w = await makeWorld();
    const a1 = await w.device('alice', 'a1');
    const b1 = await w.device('bob', 'b1');
    const b2 = await w.device('bob', 'b2');
    const alice0 = await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice', 'bob') });
    const add = await w.mls.addDevices(alice0, [b1.keyPackage.encoded, b2.keyPackage.encoded]);
    expect(add.welcome).toBeDefined();
    const bob1 = await w.mls.joinFromWelcome({ welcome: add.welcome!, keyPackage: b1.keyPackage });
    const bob2 = await w.mls.joinFromWelcome({ welcome: add.welcome!, keyPackage: b2.keyPackage });
    expect(bob1.epoch).toBe(1n);
    expect(bob1.epochAuthenticator).toEqual(add.group.epochAuthenticator);
    expect(bob2.members().map((m) => m.deviceId)).toEqual(['a1', 'b1', 'b2']);

    const sent = await w.mls.encrypt(add.group, text('hello bob'));
    const got = await w.mls.process(bob1, sent.message);
    expect(got.kind).toBe('application');
    if (got.kind !== 'application') return;
    expect(untext(got.plaintext)).toBe('hello bob');
    expect(got.sender).toMatchObject({ userId: 'alice', deviceId: 'a1', leafIndex: 0 });
    // Padded to the 256-byte bucket: the wire size does not follow the text length.
    const longer = await w.mls.encrypt(sent.group, text('hello bob, a slightly longer message'));
    expect(longer.message.length).toBe(sent.message.length);
  });

  it('refuses a KeyPackage whose device is not in the signed device list', async () => {
    const w = await makeWorld();
    const a1 = await w.device('alice', 'a1');
    const ghost = await w.device('bob', 'ghost', { listed: false });
    await w.device('bob', 'b1');
    const group = await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice', 'bob') });
    await expect(w.mls.addDevices(group, [ghost.keyPackage.encoded])).rejects.toMatchObject({ code: 'mls_process_failed' });
  });

  it('refuses to add a device of a user who is not in the roster', async () => {
    const w = await makeWorld();
    const a1 = await w.device('alice', 'a1');
    const c1 = await w.device('carol', 'c1');
    const group = await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice') });
    await expect(w.mls.addDevices(group, [c1.keyPackage.encoded])).rejects.toMatchObject({ code: 'mls_policy_violation' });
    const withCarol = await w.mls.addDevices(group, [c1.keyPackage.encoded], { roster: w.roster('alice', 'carol') });
    expect(withCarol.group.roster().map((r) => r.userId)).toEqual(['alice', 'carol']);
  });

  it('refuses an added device certified by another key than the roster names for its user', async () => {
    const w = await makeWorld();
    const a1 = await w.device('alice', 'a1');
    const c1 = await w.device('carol', 'c1');
    const roster = [...w.roster('alice'), { userId: 'carol', aikId: new Uint8Array(16) }];
    const group = await w.mls.createGroup({ keyPackage: a1.keyPackage, roster });
    await expect(w.mls.addDevices(group, [c1.keyPackage.encoded])).rejects.toMatchObject({
      code: 'mls_policy_violation',
      message: expect.stringContaining('another key than the roster'),
    });
  });

  it('refuses an external join by a device of a user outside the roster', async () => {
    const w = await makeWorld();
    const a1 = await w.device('alice', 'a1');
    const d1 = await w.device('dave', 'd1'); // pinned and listed, but not in this chat
    const created = await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice') });
    const selfUpdate = await w.mls.selfUpdate(created);
    await expect(w.mls.joinExternal({ groupInfo: selfUpdate.groupInfo, keyPackage: d1.keyPackage, resync: false })).rejects.toMatchObject({
      code: 'mls_policy_violation',
    });
  });

  it('keeps keys for one past epoch only', async () => {
    const w = await makeWorld();
    const a1 = await w.device('alice', 'a1');
    const b1 = await w.device('bob', 'b1');
    const add = await w.mls.addDevices(await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice', 'bob') }), [b1.keyPackage.encoded]);
    const bob = await w.mls.joinFromWelcome({ welcome: add.welcome!, keyPackage: b1.keyPackage });
    const held = await w.mls.encrypt(bob, text('held back'));
    const first = await w.mls.selfUpdate(add.group);
    const afterOne = await w.mls.process(first.group, held.message);
    expect(afterOne.kind === 'application' && untext(afterOne.plaintext)).toBe('held back');
    const second = await w.mls.selfUpdate(first.group);
    await expect(w.mls.process(second.group, held.message)).rejects.toMatchObject({ code: 'mls_process_failed' });
  });

  it('restores a stored state that decrypts the next message, and keeps no config from the bytes', async () => {
    const w = await makeWorld();
    const a1 = await w.device('alice', 'a1');
    const b1 = await w.device('bob', 'b1');
    const add = await w.mls.addDevices(await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice', 'bob') }), [b1.keyPackage.encoded]);
    const bob = w.mls.restoreState(w.mls.encodeState(await w.mls.joinFromWelcome({ welcome: add.welcome!, keyPackage: b1.keyPackage })));
    expect(bob.state.clientConfig).toBe(w.mls.config);
    const sent = await w.mls.encrypt(add.group, text('after restore'));
    const got = await w.mls.process(bob, sent.message);
    expect(got.kind === 'application' && untext(got.plaintext)).toBe('after restore');
    expect(() => w.mls.restoreState(new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'e2ee_malformed' }));
  });

  it('stores and reloads a private KeyPackage', async () => {
    const w = await makeWorld();
    const a1 = await w.device('alice', 'a1');
    const back = await w.mls.decodeLocalKeyPackage(w.mls.encodeLocalKeyPackage(a1.keyPackage));
    expect(back.ref).toEqual(a1.keyPackage.ref);
    expect(back.privatePackage).toEqual(a1.keyPackage.privatePackage);
  });

  it('gives the removed device a state that is no longer active', async () => {
    const w = await makeWorld();
    const a1 = await w.device('alice', 'a1');
    const b1 = await w.device('bob', 'b1');
    const add = await w.mls.addDevices(await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice', 'bob') }), [b1.keyPackage.encoded]);
    const bob = await w.mls.joinFromWelcome({ welcome: add.welcome!, keyPackage: b1.keyPackage });
    const removal = await w.mls.removeDevices(add.group, [{ userId: 'bob', deviceId: 'b1' }]);
    const processed = await w.mls.process(bob, removal.commit);
    expect(processed.kind === 'commit' && processed.removed.map((m) => m.deviceId)).toEqual(['b1']);
    expect(processed.group.active).toBe(false);
    expect(processed.group).toBeInstanceOf(MlsGroup);
  });
});
