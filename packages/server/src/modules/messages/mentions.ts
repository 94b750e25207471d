import type { Kysely } from 'kysely';
import type { DB } from '../../adapters/db/schema.ts';
import { membersNamed } from './mentions.store.ts';

/**
 * An @username token: not inside a word or an address ("ann@example.org" names nobody), and the
 * whole name (the "@bob" in "@bobby" is not bob). Trailing punctuation ends it: "@bob," is bob.
 */
const MENTION = /(?<![\p{L}\p{N}_@.])@([A-Za-z0-9_]{3,32})(?![A-Za-z0-9_])/gu;

/** The usernames a text names with @, lower-cased (usernames are), each once, in order. */
export function mentionedNames(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(MENTION)) names.add(match[1]!.toLowerCase());
  return [...names];
}

/**
 * The members of a group a text mentions, as the messages column keeps them (JSON, null when none):
 * only groups have mentions, and the sender mentioning themselves notifies nobody.
 */
export async function mentionsIn(db: Kysely<DB>, options: { chatId: string; kind: string; senderId: string; text: string }): Promise<string | null> {
  if (options.kind !== 'group') return null;
  const names = mentionedNames(options.text);
  if (names.length === 0) return null;
  const ids = (await membersNamed(db, { chatId: options.chatId, usernames: names })).filter((id) => id !== options.senderId);
  return ids.length > 0 ? JSON.stringify(ids) : null;
}
