import { describe, it, expect } from 'vitest';
import { splitLinks } from './split-links.ts';

describe('splitLinks()', () => {
  it('returns plain text as one part', () => {
    expect(splitLinks('hello there')).toEqual(['hello there']);
  });

  it('cuts out http and https links between text', () => {
    expect(splitLinks('see https://example.com/a?b=1 and http://x.org')).toEqual([
      'see ',
      { href: 'https://example.com/a?b=1' },
      ' and ',
      { href: 'http://x.org' },
    ]);
  });

  it('leaves the punctuation after a link outside it', () => {
    expect(splitLinks('(at https://example.com/page).')).toEqual(['(at ', { href: 'https://example.com/page' }, ').']);
  });

  it('does not make links of other schemes', () => {
    expect(splitLinks('javascript:alert(1) ftp://host')).toEqual(['javascript:alert(1) ftp://host']);
  });

  it('returns nothing for empty text', () => {
    expect(splitLinks('')).toEqual([]);
  });
});
