import { makeWorld } from './_fixtures.ts';

// Run as its own process by mls-defects.test.ts: the D2 loop in ts-mls is synchronous, so only a timeout from
// outside the process can stop it. Prints the error code the wrapper gave, or "joined".
const w = await makeWorld();
const a1 = await w.device('alice', 'a1');
const b1 = await w.device('bob', 'b1');
const add = await w.mls.addDevices(await w.mls.createGroup({ keyPackage: a1.keyPackage, roster: w.roster('alice', 'bob') }), [b1.keyPackage.encoded]);
const stranger = await w.device('bob', 'b9');
try {
  await w.mls.joinExternal({ groupInfo: add.groupInfo, keyPackage: stranger.keyPackage, resync: true });
  console.log('joined');
} catch (err) {
  console.log((err as { code?: string }).code ?? String(err));
}
