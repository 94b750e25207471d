import { describe, expect, it } from 'vitest';
import { makeWorld, text, untext } from './_fixtures.ts';
import type { MlsGroup } from './mls.ts';

// Forward secrecy and post-compromise security with Parley's parameters (retainKeysForEpochs 1,
// retainKeysForGenerations 10): what a thief of a device's state at one moment can and cannot read.

async function pairGroup() {
  const w = await makeWorld();
  const a1 = await w.device('alice', 'a1');
  const b1 = await w.device('bob', 'b1');
  const created = await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice', 'bob') });
  const add = await w.mls.addDevices(created, [b1.keyPackage.encoded]);
  const bob = await w.mls.joinFromWelcome({ welcome: add.welcome!, keyPackage: b1.keyPackage });
  return { w, alice: add.group, bob };
}

const read = async (w: Awaited<ReturnType<typeof makeWorld>>, group: MlsGroup, message: Uint8Array) => {
  const r = await w.mls.process(group, message);
  if (r.kind !== 'application') throw new Error('expected an application message');
  return { group: r.group, text: untext(r.plaintext) };
};

describe('forward secrecy', () => {
  it('a state stolen now does not decrypt messages it already processed, nor those of epochs past the one it keeps', async () => {
    const { w, alice: a0, bob: b0 } = await pairGroup();
    let alice = a0;
    let bob = b0;
    const sent: Uint8Array[] = [];
    for (const t of ['one', 'two']) {
      const s = await w.mls.encrypt(alice, text(t));
      alice = s.group;
      sent.push(s.message);
      bob = (await read(w, bob, s.message)).group;
    }
    // Two epochs later (one more than Parley keeps keys for), a message of the first epoch is unreadable.
    for (let i = 0; i < 2; i++) {
      const u = await w.mls.selfUpdate(alice);
      alice = u.group;
      bob = (await w.mls.process(bob, u.commit)).group;
    }
    const stolen = bob;
    for (const m of sent) await expect(w.mls.process(stolen, m)).rejects.toThrow();
    // Already processed in the same epoch: its key was deleted after use.
    const again = await w.mls.encrypt(alice, text('three'));
    const afterRead = (await read(w, stolen, again.message)).group;
    await expect(w.mls.process(afterRead, again.message)).rejects.toThrow();
  });
});

describe('post-compromise security', () => {
  it('a state stolen before a self-update reads nothing sent after the update is processed', async () => {
    const { w, alice: a0, bob: b0 } = await pairGroup();
    let alice = a0;
    const stolenBob = b0;
    // The thief could read this epoch's messages...
    const before = await w.mls.encrypt(alice, text('before the update'));
    alice = before.group;
    expect((await read(w, stolenBob, before.message)).text).toBe('before the update');
    // ...until the victim updates its own leaf and everyone moves on with it.
    const update = await w.mls.selfUpdate(b0);
    const bob = update.group;
    alice = (await w.mls.process(alice, update.commit)).group;
    const after = await w.mls.encrypt(alice, text('after the update'));
    expect((await read(w, bob, after.message)).text).toBe('after the update');
    // The thief processes the public commit too, yet the new path secrets were encrypted to the new leaf key.
    const followed = await w.mls.process(stolenBob, update.commit).catch((err: Error) => err);
    if (!(followed instanceof Error)) await expect(w.mls.process(followed.group, after.message)).rejects.toThrow();
    await expect(w.mls.process(stolenBob, after.message)).rejects.toThrow();
  });
});
