import { describe, expect, it } from 'vitest';
import type { User } from '@parley/sdk';
import { mentionAt, mentionCandidates, withMention } from './mention-query.ts';

describe('mention autocomplete', () => {
  it('mentionAt() finds the @word at the caret, not one inside a word or an address', () => {
    expect(mentionAt('hi @bo', 6)).toEqual({ start: 3, query: 'bo' });
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(mentionAt('(@ca', 4)).toEqual({ start: 1, query: 'ca' });
    expect(mentionAt('ann@exa', 7)).toBeNull();
    expect(mentionAt('@bob and', 8)).toBeNull();
  });

  it('withMention() completes the word and puts the caret after a space, or before punctuation', () => {
    expect(withMention('hi @bo', { start: 3, caret: 6 }, 'bob')).toEqual({ value: 'hi @bob ', caret: 8 });
    expect(withMention('@b, look', { start: 0, caret: 2 }, 'bob')).toEqual({ value: '@bob, look', caret: 4 });
    expect(withMention('@bo there', { start: 0, caret: 3 }, 'bob')).toEqual({ value: '@bob there', caret: 5 });
  });

  it('mentionCandidates() matches usernames and display-name words, never me', () => {
    const u = (id: string, username: string, displayName: string) => ({ id, username, displayName }) as User;
    const members = [u('1', 'alice', 'Alice Smith'), u('2', 'bob', 'Bob'), u('3', 'carol', 'Carol Bobson')];
    expect(mentionCandidates(members, 'bo', { myId: '1', limit: 5 }).map((x) => x.username)).toEqual(['bob', 'carol']);
    expect(mentionCandidates(members, 'SMI', { myId: '2', limit: 5 }).map((x) => x.username)).toEqual(['alice']);
    expect(mentionCandidates(members, '', { myId: '1', limit: 1 }).map((x) => x.username)).toEqual(['bob']);
  });
});
