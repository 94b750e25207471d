import { describe, it, expect } from 'vitest';
import { dayKey, formatDay, formatLastSeen, formatTime, initials } from './format.ts';

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

describe('formatTime()', () => {
  it('never pads the hour in a 12-hour locale ("9:42 PM", not "09:42 PM")', () => {
    const nine = new Date(2024, 4, 1, 21, 42).toISOString();
    const text = formatTime(nine);
    if (/[AP]M/i.test(text)) expect(text).toMatch(/^9:42\s?PM$/i);
    expect(formatTime(new Date(2024, 4, 1, 9, 5).toISOString())).toContain(':05');
  });
});

describe('formatLastSeen()', () => {
  const now = new Date(2024, 4, 10, 15, 0).getTime();
  const ago = (ms: number) => new Date(now - ms).toISOString();

  it('says just now, then minutes and hours ago on the same day', () => {
    expect(formatLastSeen(ago(20_000), now)).toBe('just now');
    expect(formatLastSeen(ago(5 * 60_000), now)).toBe('5 minutes ago');
    expect(formatLastSeen(ago(60_000), now)).toBe('1 minute ago');
    expect(formatLastSeen(ago(3 * 3600_000), now)).toBe('3 hours ago');
  });

  it('names yesterday with its time, and older days by date', () => {
    expect(formatLastSeen(new Date(2024, 4, 9, 21, 42).toISOString(), now)).toMatch(/^yesterday at /);
    expect(formatLastSeen(new Date(2024, 3, 2, 12).toISOString(), now)).toMatch(/^on /);
  });
});
