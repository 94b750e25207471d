import { describe, expect, it } from 'vitest';
import { highlight, queryTerms, startsWords } from './highlight.ts';

const marked = (text: string, q: string) =>
  highlight(text, queryTerms(q))
    .map((p) => (p.hit ? `[${p.text}]` : p.text))
    .join('');

describe('search highlight', () => {
  it('marks whole words that start with a term, ignoring case and accents', () => {
    expect(marked('Le Café du coin, cafés et cafeteria', 'cafe')).toBe('Le [Café] du coin, [cafés] et [cafeteria]');
    expect(marked('Meet at NOON near the noodle bar', 'noo BAR')).toBe('Meet at [NOON] near the [noodle] [bar]');
  });

  it('does not mark a term found inside a word', () => {
    expect(marked('scarf and carpet', 'car')).toBe('scarf and [carpet]');
  });

  it('starts a long text shortly before the first word found', () => {
    const text = `${'lorem ipsum dolor sit amet '.repeat(6)}the zebra is here`;
    const out = marked(text, 'zebra');
    expect(out.startsWith('…')).toBe(true);
    expect(out).toContain('[zebra] is here');
    expect(out.length).toBeLessThan(60);
  });

  it('keeps markup as plain text', () => {
    const pieces = highlight('<img onerror=x> bold', queryTerms('bold'));
    expect(pieces).toEqual([
      { text: '<img onerror=x> ', hit: false },
      { text: 'bold', hit: true },
    ]);
  });

  it('splits a query into folded words, ignoring punctuation', () => {
    expect(queryTerms('  Élan, "vital"!  élan ')).toEqual(['elan', 'vital']);
    expect(queryTerms('!!!')).toEqual([]);
  });

  it('finds a chat by the starts of the words of its title', () => {
    expect(startsWords('Trip planning', queryTerms('plan tr'))).toBe(true);
    expect(startsWords('Équipe Été', queryTerms('equipe ete'))).toBe(true);
    expect(startsWords('Trip planning', queryTerms('lanning'))).toBe(false);
    expect(startsWords('Trip planning', [])).toBe(false);
  });
});
