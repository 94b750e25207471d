import { describe, expect, it } from 'vitest';
import { formatBytes, formatMiB, formatWait } from './format-bytes.ts';

describe('formatBytes', () => {
  it('shows sizes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(100 * 1024 * 1024)).toBe('100 MB');
    expect(formatBytes(5 * 1024 * 1024 * 1024)).toBe('5 GB');
  });
  it('names limits in MiB and waits in the largest whole unit', () => {
    expect(formatMiB(100 * 1024 * 1024)).toBe('100 MiB');
    expect(formatMiB(512 * 1024)).toBe('0.5 MiB');
    expect(formatWait(40)).toBe('40 s');
    expect(formatWait(700)).toBe('12 min');
    expect(formatWait(3600)).toBe('60 min');
    expect(formatWait(3601)).toBe('61 min');
    expect(formatWait(7200)).toBe('2 h');
  });
});
