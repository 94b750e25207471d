import { describe, expect, it } from 'vitest';
import { AppError } from './errors.ts';
import { codePoints, normalizeDisplayName, normalizeText, normalizeTitle, normalizeUsername } from './text.ts';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('text rules', () => {
  it('codePoints() counts an astral character once', () => {
    expect(codePoints('a😀b')).toBe(3);
    expect('a😀b'.length).toBe(4);
  });

  it('normalizeText() accepts exactly the limit, astral characters included', () => {
    expect(codePoints(normalizeText('😀'.repeat(5), 5))).toBe(5);
  });

  it('normalizeText() rejects one code point over the limit with message_too_long', () => {
    expect(codeOf(() => normalizeText('😀'.repeat(6), 5))).toBe('message_too_long');
  });

  it('normalizeText() rejects a blank text', () => {
    expect(codeOf(() => normalizeText(' \n\t ', 10))).toBe('invalid_request');
  });

  it('normalizeText() counts after NFC', () => {
    // "e" + combining acute is one code point after NFC.
    const decomposed = 'e\u0301'.repeat(3);
    expect(normalizeText(decomposed, 3)).toBe('\u00e9'.repeat(3));
  });

  it('normalizeTitle() trims and rejects blank titles', () => {
    expect(normalizeTitle('  Team  ')).toBe('Team');
    expect(codeOf(() => normalizeTitle('   '))).toBe('invalid_request');
  });

  it('normalizeUsername() lower-cases and rejects what is outside a-z, 0-9 and _', () => {
    expect(normalizeUsername(' Alice_1 ')).toBe('alice_1');
    expect(codeOf(() => normalizeUsername('al'))).toBe('invalid_request');
    expect(codeOf(() => normalizeUsername('al ice'))).toBe('invalid_request');
    expect(codeOf(() => normalizeUsername('a'.repeat(33)))).toBe('invalid_request');
  });

  it('normalizeDisplayName() allows 1 to 64 code points', () => {
    expect(normalizeDisplayName('😀'.repeat(64))).toHaveLength(128);
    expect(codeOf(() => normalizeDisplayName('😀'.repeat(65)))).toBe('invalid_request');
    expect(codeOf(() => normalizeDisplayName('  '))).toBe('invalid_request');
  });
});
