import { describe, expect, it } from 'vitest';
import {
  decodeDeviceList,
  encodeDeviceList,
  hashDeviceList,
  signDeviceList,
  verifyDeviceListChain,
  type DeviceList,
  type DeviceListEntry,
} from './device-list.ts';
import { generateAik, type Aik } from './identity.ts';

const entry = (deviceId: string): DeviceListEntry => ({ deviceId, signatureKey: globalThis.crypto.getRandomValues(new Uint8Array(32)), issuedAt: 1 });

async function chain(aik: Aik, sets: string[][]): Promise<DeviceList[]> {
  const lists: DeviceList[] = [];
  for (const set of sets) lists.push(await signDeviceList(aik, { userId: 'bob', previous: lists.at(-1), devices: set.map(entry) }));
  return lists;
}

describe('device list chain', () => {
  it('encodes, decodes, and verifies a good chain from scratch and from a known head', async () => {
    const aik = await generateAik();
    const lists = await chain(aik, [['d1'], ['d1', 'd2'], ['d2']]);
    expect(decodeDeviceList(encodeDeviceList(lists[1]))).toEqual(lists[1]);
    const all = await verifyDeviceListChain({ userId: 'bob', aikPublicKey: aik.publicKey, lists });
    expect(all.head.version).toBe(3);
    expect(all.list?.devices.map((d) => d.deviceId)).toEqual(['d2']);
    const known = { version: 1, hash: await hashDeviceList(lists[0]) };
    const later = await verifyDeviceListChain({ userId: 'bob', aikPublicKey: aik.publicKey, known, lists: lists.slice(1) });
    expect(later.head).toEqual({ version: 3, hash: await hashDeviceList(lists[2]) });
    // Nothing new: the known head stays.
    const same = await verifyDeviceListChain({ userId: 'bob', aikPublicKey: aik.publicKey, known: later.head, lists: [lists[2]] });
    expect(same.head).toEqual(later.head);
  });

  it('detects a rollback to an older version', async () => {
    const aik = await generateAik();
    const lists = await chain(aik, [['d1'], ['d1', 'd2'], ['d1', 'd2', 'd3']]);
    const known = { version: 3, hash: await hashDeviceList(lists[2]) };
    await expect(verifyDeviceListChain({ userId: 'bob', aikPublicKey: aik.publicKey, known, lists: [lists[1]] })).rejects.toMatchObject({
      code: 'e2ee_device_list_rollback',
    });
  });

  it('detects a fork: the same version with other content, or a successor that does not chain', async () => {
    const aik = await generateAik();
    const lists = await chain(aik, [['d1'], ['d1', 'd2']]);
    const other = await signDeviceList(aik, { userId: 'bob', previous: lists[0], devices: [entry('ghost')] });
    const known = { version: 2, hash: await hashDeviceList(lists[1]) };
    await expect(verifyDeviceListChain({ userId: 'bob', aikPublicKey: aik.publicKey, known, lists: [other] })).rejects.toMatchObject({
      code: 'e2ee_device_list_fork',
    });
    // A version 3 built on the other branch.
    const next = await signDeviceList(aik, { userId: 'bob', previous: other, devices: [entry('ghost'), entry('d3')] });
    await expect(verifyDeviceListChain({ userId: 'bob', aikPublicKey: aik.publicKey, known, lists: [next] })).rejects.toMatchObject({
      code: 'e2ee_device_list_fork',
    });
  });

  it('detects a missing version', async () => {
    const aik = await generateAik();
    const lists = await chain(aik, [['d1'], ['d2'], ['d3']]);
    const known = { version: 1, hash: await hashDeviceList(lists[0]) };
    await expect(verifyDeviceListChain({ userId: 'bob', aikPublicKey: aik.publicKey, known, lists: [lists[2]] })).rejects.toMatchObject({
      code: 'e2ee_device_list_gap',
    });
  });

  it('detects a list not signed by the pinned AIK, or tampered after signing', async () => {
    const aik = await generateAik();
    const server = await generateAik();
    const forged = await chain(server, [['ghost']]);
    await expect(verifyDeviceListChain({ userId: 'bob', aikPublicKey: aik.publicKey, lists: forged })).rejects.toMatchObject({
      code: 'e2ee_bad_signature',
    });
    const [good] = await chain(aik, [['d1']]);
    const tampered = { ...good, devices: [...good.devices, entry('ghost')] };
    await expect(verifyDeviceListChain({ userId: 'bob', aikPublicKey: aik.publicKey, lists: [tampered] })).rejects.toMatchObject({
      code: 'e2ee_bad_signature',
    });
    await expect(verifyDeviceListChain({ userId: 'alice', aikPublicKey: aik.publicKey, lists: [good] })).rejects.toMatchObject({
      code: 'e2ee_bad_signature',
    });
  });
});
