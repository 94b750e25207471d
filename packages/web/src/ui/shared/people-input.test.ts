import { describe, expect, it } from 'vitest';
import { currentWord, withChosen } from './people-input.tsx';

describe('the people field', () => {
  it('looks up the word being typed: the whole field, or what follows the last comma', () => {
    expect(currentWord(' car ', false)).toBe('car');
    expect(currentWord('bob, ca', true)).toBe('ca');
    expect(currentWord('bob, ', true)).toBe('');
    expect(currentWord('bob, ca', false)).toBe('bob, ca');
  });

  it('puts the chosen username in place of that word, leaving room for the next in a list', () => {
    expect(withChosen('car', 'carol', false)).toBe('carol');
    expect(withChosen('ca', 'carol', true)).toBe('carol, ');
    expect(withChosen('bob, ca', 'carol', true)).toBe('bob, carol, ');
    expect(withChosen('bob,ca', 'carol', true)).toBe('bob, carol, ');
  });
});
