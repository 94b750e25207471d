import { describe, it, expect } from 'vitest';
import { dayKey, formatDay, initials } from './format.ts';

describe('dayKey()', () => {
  it('is the same for two times of one local day and differs across days', () => {
    const morning = new Date(2024, 4, 1, 8).toISOString();
    const evening = new Date(2024, 4, 1, 22).toISOString();
    const next = new Date(2024, 4, 2, 8).toISOString();
    expect(dayKey(morning)).toBe(dayKey(evening));
    expect(dayKey(morning)).not.toBe(dayKey(next));
  });
});

describe('formatDay()', () => {
  it('says Today and Yesterday for the last two days', () => {
    const now = new Date();
    expect(formatDay(now.toISOString())).toBe('Today');
    expect(formatDay(new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1, 12).toISOString())).toBe('Yesterday');
  });

  it('names the year only for another year', () => {
    const now = new Date();
    expect(formatDay(new Date(now.getFullYear() - 1, 0, 15, 12).toISOString())).toContain(String(now.getFullYear() - 1));
  });
});

describe('initials()', () => {
  it('takes the first letters of the first two words, upper case', () => {
    expect(initials('ada lovelace byron')).toBe('AL');
    expect(initials('  bob ')).toBe('B');
  });

  it('falls back to a question mark for a blank name', () => {
    expect(initials('   ')).toBe('?');
  });
});
