import type { Message } from '@parley/protocol';
import { AppError } from '../../lib/errors.ts';
import { requireMember } from '../chats/access.ts';
import { withinReadLimits } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { toMessage } from '../sync/views.ts';
import { searchMessages as findMessages } from './search.store.ts';

/** Terms at most in one search: more narrows nothing a person types, and each costs a lookup. */
const MAX_TERMS = 8;

/** The words of a query: runs of letters and digits (anything else separates them, and is never syntax). */
export function searchTerms(q: string): string[] {
  const terms = q.normalize('NFC').match(/[\p{L}\p{N}]+/gu) ?? [];
  if (terms.length === 0) throw new AppError('invalid_request', 'Search for at least one word (letters or digits)');
  return [...new Set(terms.map((t) => t.toLowerCase()))].slice(0, MAX_TERMS);
}

function parseCursor(cursor: string): { createdAt: number; id: string } {
  const at = cursor.indexOf('_');
  return { createdAt: Number(cursor.slice(0, at)), id: cursor.slice(at + 1) };
}

export async function searchMessages(
  s: Services,
  actor: Actor,
  input: { q: string; chatId?: string; before?: string; limit?: number },
): Promise<{ messages: Message[]; nextCursor: string | null }> {
  const terms = searchTerms(input.q);
  return withinReadLimits(s, actor, async () => {
    // A chat that is not mine answers as a missing one does, as everywhere else.
    if (input.chatId !== undefined) await requireMember(s.db.kysely, { chatId: input.chatId, userId: actor.userId });
    const limit = input.limit ?? 20;
    const rows = await findMessages(s.db.kysely, {
      userId: actor.userId,
      terms,
      chatId: input.chatId,
      before: input.before === undefined ? undefined : parseCursor(input.before),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { messages: page.map(toMessage), nextCursor: rows.length > limit && last ? `${last.created_at}_${last.id}` : null };
  });
}
