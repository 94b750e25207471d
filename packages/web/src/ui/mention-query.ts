import type { User } from '@parley/sdk';

/** The @word being typed at the caret: where its @ is and what follows it so far; null when there is none. */
export function mentionAt(value: string, caret: number): { start: number; query: string } | null {
  const m = /(?:^|[^\p{L}\p{N}_@.])@([A-Za-z0-9_]{0,32})$/u.exec(value.slice(0, caret));
  if (!m) return null;
  return { start: caret - m[1]!.length - 1, query: m[1]! };
}

/**
 * The text with the @word at `start` (up to the caret) made a whole mention, and where the caret
 * goes: after a space (one added when nothing, or a word, follows), or right after the name when
 * punctuation follows.
 */
export function withMention(value: string, at: { start: number; caret: number }, username: string): { value: string; caret: number } {
  const rest = value.slice(at.caret).replace(/^[A-Za-z0-9_]*/, '');
  const inserted = `@${username}${/^[\s\p{P}]/u.test(rest) ? '' : ' '}`;
  const caret = at.start + inserted.length + (rest.startsWith(' ') ? 1 : 0);
  return { value: value.slice(0, at.start) + inserted + rest, caret };
}

/** The members to offer for a query: by username or display name (a word of it) starting with it, me left out, at most `limit`. */
export function mentionCandidates(members: User[], query: string, options: { myId: string | undefined; limit: number }): User[] {
  const q = query.toLowerCase();
  return members
    .filter((u) => u.id !== options.myId && u.username && !u.deleted)
    .filter(
      (u) =>
        q === '' ||
        u.username!.startsWith(q) ||
        u.displayName
          .toLowerCase()
          .split(/\s+/)
          .some((w) => w.startsWith(q)),
    )
    .slice(0, options.limit);
}
