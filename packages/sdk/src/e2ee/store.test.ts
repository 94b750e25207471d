import { describe, expect, it } from 'vitest';
import { MemoryE2eeStore } from './store.ts';

// The in-memory E2eeStore: what the engine relies on from any store (equal bytes back, prefix listing in key order,
// batches with deletes), and that a snapshot survives JSON.

const bytes = (...b: number[]) => new Uint8Array(b);

describe('MemoryE2eeStore', () => {
  it('returns what was put, lists by prefix in key order, and deletes on null', async () => {
    const store = new MemoryE2eeStore();
    expect(await store.get('device')).toBeUndefined();
    await store.put({ 'kp/b': bytes(2), 'kp/a': bytes(1), 'chat/c1': bytes(3), device: bytes(4) });
    expect(await store.get('device')).toEqual(bytes(4));
    expect(await store.list('kp/')).toEqual([
      ['kp/a', bytes(1)],
      ['kp/b', bytes(2)],
    ]);
    expect(await store.list('nothing/')).toEqual([]);
    await store.put({ 'kp/a': null, 'kp/b': bytes(9) });
    expect(await store.list('kp/')).toEqual([['kp/b', bytes(9)]]);
    expect(await store.get('kp/a')).toBeUndefined();
  });

  it('keeps its own copies: changing a buffer after put or after get changes nothing stored', async () => {
    const store = new MemoryE2eeStore();
    const value = bytes(1, 2, 3);
    await store.put({ k: value });
    value[0] = 7;
    const got = (await store.get('k'))!;
    got[1] = 7;
    (await store.list('k'))[0][1][2] = 7;
    expect(await store.get('k')).toEqual(bytes(1, 2, 3));
  });

  it('rebuilds from a snapshot that went through JSON', async () => {
    const store = new MemoryE2eeStore();
    const big = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 31) % 256);
    await store.put({ big, empty: new Uint8Array(), small: bytes(0, 255) });
    const copy = MemoryE2eeStore.from(JSON.parse(JSON.stringify(store.snapshot())) as Record<string, string>);
    expect(await copy.get('big')).toEqual(big);
    expect(await copy.get('empty')).toEqual(new Uint8Array());
    expect(await copy.list('')).toEqual(await store.list(''));
  });
});
