import { describe, expect, it } from 'vitest';
import { AppError } from './errors.ts';
import { codePoints, normalizeDisplayName, normalizeEmoji, normalizeText, normalizeTitle, normalizeUsername } from './text.ts';

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

  it('names and titles refuse bidirectional formatting characters', () => {
    // U+202E makes "moc.evil" render as "live.com"; U+2067/U+2069 isolate "admin" right-to-left.
    expect(codeOf(() => normalizeDisplayName('moc.\u202eevil\u202c'))).toBe('invalid_request');
    expect(codeOf(() => normalizeDisplayName('\u2067admin\u2069'))).toBe('invalid_request');
    expect(codeOf(() => normalizeTitle('Team \u200f'))).toBe('invalid_request');
  });

  it("names and titles refuse text that shows nothing, by Unicode's default-ignorable property", () => {
    for (const blank of ['\u200b', '\u3164', '\u00ad\u00ad', '\ufeff', ' \u200b\u2060 ']) {
      expect(codeOf(() => normalizeDisplayName(blank))).toBe('invalid_request');
      expect(codeOf(() => normalizeTitle(blank))).toBe('invalid_request');
    }
  });

  it('names and titles refuse control characters, NUL and a lone surrogate', () => {
    for (const bad of ['a\u0000b', 'tab\there', 'line\nbreak', 'x\u007f', 'x\ud800']) {
      expect(codeOf(() => normalizeDisplayName(bad))).toBe('invalid_request');
      expect(codeOf(() => normalizeTitle(bad))).toBe('invalid_request');
    }
  });

  it('names keep emoji sequences joined by U+200D and letters of every script', () => {
    expect(normalizeDisplayName('👩\u200d👩\u200d👧 family')).toBe('👩\u200d👩\u200d👧 family');
    expect(normalizeDisplayName('Дмитрий')).toBe('Дмитрий');
    expect(normalizeTitle('مرحبا')).toBe('مرحبا');
  });

  it('normalizeText() keeps line breaks and tabs but refuses NUL, a lone surrogate and invisible-only text', () => {
    expect(normalizeText('a\n\tb', 10)).toBe('a\n\tb');
    expect(codeOf(() => normalizeText('a\u0000b', 10))).toBe('invalid_request');
    expect(codeOf(() => normalizeText('x\ud800', 10))).toBe('invalid_request');
    expect(codeOf(() => normalizeText('\u200b\u200b', 10))).toBe('invalid_request');
  });

  it('normalizeEmoji() takes one emoji (joined families, flags, skin tones, keycaps) and refuses anything else', () => {
    for (const e of ['👍', '❤️', '👨‍👩‍👧', '🇫🇷', '👍🏽', '1️⃣', '🏳️‍🌈', '🏴󠁧󠁢󠁳󠁣󠁴󠁿']) expect(normalizeEmoji(e)).toBe(e);
    for (const bad of ['', 'a', '1', '#', '👍👍', '👍 ', 'ok', '\u200d', '🇫', '<b>', '\u0000'])
      expect(codeOf(() => normalizeEmoji(bad))).toBe('invalid_request');
  });
});
