/** A piece of a message's text, marked when it is one of the words searched for. */
export interface Piece {
  text: string;
  hit: boolean;
}

/** Case and accents set aside, as the server's search does: "Café" and "cafe" are the same word. */
function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The words of a query, folded: each matches a word that starts with it. */
export function queryTerms(q: string): string[] {
  return [...new Set((q.match(/[\p{L}\p{N}]+/gu) ?? []).map(fold))];
}

/** How much text a result shows before the first word found, so the snippet starts near it. */
const LEAD = 24;

/**
 * The text cut to start a little before the first word found ("…" in front), split into plain
 * and found pieces. The caller renders the pieces as text nodes: nothing here is ever markup.
 */
export function highlight(text: string, terms: string[]): Piece[] {
  const words = [...text.matchAll(/[\p{L}\p{N}]+/gu)];
  const hits = words.filter((w) => {
    const f = fold(w[0]);
    return terms.some((t) => f.startsWith(t));
  });
  let from = 0;
  const first = hits[0]?.index ?? 0;
  if (first > LEAD) {
    // Start at a word a little before the first hit.
    const lead = words.filter((w) => w.index >= first - LEAD && w.index <= first)[0];
    from = lead?.index ?? first;
  }
  const pieces: Piece[] = from > 0 ? [{ text: '…', hit: false }] : [];
  let at = from;
  for (const w of hits) {
    if (w.index < from) continue;
    if (w.index > at) pieces.push({ text: text.slice(at, w.index), hit: false });
    pieces.push({ text: w[0], hit: true });
    at = w.index + w[0].length;
  }
  if (at < text.length) pieces.push({ text: text.slice(at), hit: false });
  return pieces;
}

/** Whether every term starts a word of the text (a chat's title, for the chats found by name). */
export function startsWords(text: string, terms: string[]): boolean {
  if (terms.length === 0) return false;
  const words = (text.match(/[\p{L}\p{N}]+/gu) ?? []).map(fold);
  return terms.every((t) => words.some((w) => w.startsWith(t)));
}
