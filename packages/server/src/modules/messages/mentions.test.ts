import { describe, expect, it } from 'vitest';
import { mentionedNames } from './mentions.ts';

describe('mentionedNames()', () => {
  it('takes whole @username tokens, lower-cased, each once, through punctuation', () => {
    expect(mentionedNames('@Bob, (@carol_1) and @bob! @dave.')).toEqual(['bob', 'carol_1', 'dave']);
    expect(mentionedNames('hi @ann: see @ann?')).toEqual(['ann']);
  });

  it('ignores addresses, doubled @, names too short or too long', () => {
    expect(mentionedNames('mail ann@example.org or @@bob')).toEqual([]);
    expect(mentionedNames('@ab @' + 'x'.repeat(33))).toEqual([]);
    expect(mentionedNames('')).toEqual([]);
  });
});
