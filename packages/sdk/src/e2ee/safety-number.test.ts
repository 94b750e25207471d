import { describe, expect, it } from 'vitest';
import { generateAik } from './identity.ts';
import { safetyNumber } from './safety-number.ts';

describe('safety number', () => {
  it('is 60 digits in 12 groups of 5, the same from both sides', async () => {
    const alice = { userId: 'alice', aikPublicKey: (await generateAik()).publicKey };
    const bob = { userId: 'bob', aikPublicKey: (await generateAik()).publicKey };
    const ab = safetyNumber(alice, bob);
    expect(ab).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(safetyNumber(bob, alice)).toBe(ab);
  });

  it('keeps its construction: a fixed pair of keys gives fixed digits', () => {
    // Recorded from this implementation: a change here changes every user's safety numbers.
    const key = (offset: number) => Uint8Array.from({ length: 32 }, (_, i) => i + offset);
    expect(safetyNumber({ userId: 'alice', aikPublicKey: key(1) }, { userId: 'bob', aikPublicKey: key(33) })).toBe(
      '33274 59016 48805 44678 73811 66701 50287 04916 01503 67890 69212 13192',
    );
  });

  it('differs per pair of users and when a user changes identity key', async () => {
    const alice = { userId: 'alice', aikPublicKey: (await generateAik()).publicKey };
    const bob = { userId: 'bob', aikPublicKey: (await generateAik()).publicKey };
    const carol = { userId: 'carol', aikPublicKey: (await generateAik()).publicKey };
    const ab = safetyNumber(alice, bob);
    expect(safetyNumber(alice, carol)).not.toBe(ab);
    expect(safetyNumber(alice, { userId: 'bob', aikPublicKey: (await generateAik()).publicKey })).not.toBe(ab);
    // Bound to the user id too: the same key claimed by another user gives another number.
    expect(safetyNumber(alice, { ...bob, userId: 'mallory' })).not.toBe(ab);
  });

  it('is stable when devices come and go: only the AIKs enter it', async () => {
    const { makeWorld } = await import('./_fixtures.ts');
    const w = await makeWorld();
    await w.device('alice', 'a1');
    await w.device('bob', 'b1');
    const party = (userId: string) => ({ userId, aikPublicKey: w.users.get(userId)!.aik.publicKey });
    const before = safetyNumber(party('alice'), party('bob'));
    await w.device('bob', 'b2');
    await w.device('bob', 'b1'); // b1 re-keyed
    expect(w.users.get('bob')!.list!.version).toBe(3);
    expect(safetyNumber(party('alice'), party('bob'))).toBe(before);
  });
});
