import { describe, expect, it } from 'vitest';
import { ed25519Verify, generateAik, ed25519Sign } from './identity.ts';
import { formatRecoveryKey, generateRecoveryKey, openAikEscrow, parseRecoveryKey, sealAikEscrow } from './recovery.ts';

describe('recovery key and AIK escrow', () => {
  it('formats 256 bits as 52 base32 characters in groups of 4 and parses them back, as typed', () => {
    const key = generateRecoveryKey();
    const shown = formatRecoveryKey(key);
    expect(shown).toMatch(/^([A-Z2-7]{4} ){12}[A-Z2-7]{4}$/);
    expect(parseRecoveryKey(shown)).toEqual(key);
    expect(parseRecoveryKey(shown.toLowerCase().replace(/ /g, '-'))).toEqual(key);
    expect(formatRecoveryKey(new Uint8Array(32))).toBe('AAAA '.repeat(12) + 'AAAA');
  });

  it('refuses a mistyped key', () => {
    const shown = formatRecoveryKey(generateRecoveryKey());
    for (const bad of [shown.slice(0, -1), shown + 'A', shown.replace(/^./, '1'), shown.slice(0, -1) + 'B']) {
      expect(() => parseRecoveryKey(bad)).toThrow(expect.objectContaining({ code: 'e2ee_recovery_key_invalid' }));
    }
  });

  it('round-trips the AIK through the escrow blob', async () => {
    const aik = await generateAik();
    const recoveryKey = generateRecoveryKey();
    const blob = await sealAikEscrow({ aik, recoveryKey, userId: 'alice' });
    const back = await openAikEscrow({ blob, recoveryKey: parseRecoveryKey(formatRecoveryKey(recoveryKey)), userId: 'alice' });
    expect(back.publicKey).toEqual(aik.publicKey);
    const data = new TextEncoder().encode('device list');
    expect(await ed25519Verify(aik.publicKey, await ed25519Sign(back.privateKey, data), data)).toBe(true);
  });

  it('does not open with a wrong key, for another user, or tampered', async () => {
    const aik = await generateAik();
    const recoveryKey = generateRecoveryKey();
    const blob = await sealAikEscrow({ aik, recoveryKey, userId: 'alice' });
    const failed = expect.objectContaining({ code: 'e2ee_recovery_failed' });
    await expect(openAikEscrow({ blob, recoveryKey: generateRecoveryKey(), userId: 'alice' })).rejects.toEqual(failed);
    await expect(openAikEscrow({ blob, recoveryKey, userId: 'bob' })).rejects.toEqual(failed);
    const tampered = blob.slice();
    tampered[20] ^= 1;
    await expect(openAikEscrow({ blob: tampered, recoveryKey, userId: 'alice' })).rejects.toEqual(failed);
  });
});
