import { AppError } from './errors.ts';

/** Unicode code points, not UTF-16 units: what a user counts as characters. */
export function codePoints(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

// Unicode's own character properties, not a hand-written list: controls (U+0000–U+001F, U+007F–U+009F),
// the bidirectional formatting controls that reorder what is shown (U+202E renders "moc.evil" as "live.com"),
// and the code points a renderer shows as nothing (zero-width space, Hangul filler, soft hyphen…).
const NUL = /\0/u;
// With the u flag a lone surrogate is read as one code point of category Cs; a pair is its astral character.
const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL = /\p{Cc}/u;
const BIDI_CONTROL = /\p{Bidi_Control}/u;
const INVISIBLE = /[\p{White_Space}\p{Default_Ignorable_Code_Point}]/gu;

/** Whether anything would show: not only spaces and default-ignorable code points. */
export function isVisible(text: string): boolean {
  return text.replace(INVISIBLE, '').length > 0;
}

/** Text the database stores as given: no lone surrogate (it would read back as U+FFFD) and no NUL (PostgreSQL refuses it). */
function assertStorable(text: string, what: string): void {
  if (LONE_SURROGATE.test(text)) throw new AppError('invalid_request', `${what} must not contain a lone surrogate`);
  if (NUL.test(text)) throw new AppError('invalid_request', `${what} must not contain a NUL character`);
}

/** A name shown beside other names (display names, chat titles): no controls, no bidi overrides, not invisible. */
function assertNameLike(name: string, what: string): void {
  assertStorable(name, what);
  if (CONTROL.test(name)) throw new AppError('invalid_request', `${what} must not contain control characters`);
  if (BIDI_CONTROL.test(name)) throw new AppError('invalid_request', `${what} must not contain bidirectional formatting characters`);
  if (!isVisible(name)) throw new AppError('invalid_request', `${what} must not be blank`);
}

/** A message text: NFC, storable, not blank or invisible, at most `max` code points. Line breaks and tabs stay. */
export function normalizeText(text: string, max: number): string {
  assertStorable(text, 'The message text');
  const clean = text.normalize('NFC');
  if (!isVisible(clean)) throw new AppError('invalid_request', 'The message text must not be blank');
  const length = codePoints(clean);
  if (length > max) throw new AppError('message_too_long', `A message can be at most ${max} characters (got ${length})`);
  return clean;
}

/** A chat title: NFC, trimmed, not blank or invisible, no controls or bidi overrides. */
export function normalizeTitle(title: string): string {
  const clean = title.normalize('NFC').trim();
  assertNameLike(clean, 'The title');
  return clean;
}

const USERNAME = /^[a-z0-9_]{3,32}$/;

/** Whether a lower-cased name could be a stored username; anything else names nobody (and PostgreSQL refuses NUL in a query). */
export function isUsername(name: string): boolean {
  return USERNAME.test(name);
}

/** A username: lower case, 3 to 32 of a-z, 0-9 and _. */
export function normalizeUsername(username: string): string {
  const name = username.trim().toLowerCase();
  if (!USERNAME.test(name)) throw new AppError('invalid_request', `Username "${username}" must be 3 to 32 of a-z, 0-9 and _`);
  return name;
}

/** A display name: NFC, trimmed, 1 to 64 code points, not invisible, no controls or bidi overrides. */
export function normalizeDisplayName(name: string): string {
  const clean = name.normalize('NFC').trim();
  assertNameLike(clean, 'Display name');
  const length = codePoints(clean);
  if (length < 1 || length > 64) throw new AppError('invalid_request', 'Display name must be 1 to 64 characters');
  return clean;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** What an emoji grapheme is made of: pictographs, flags' regional indicators, keycaps, joiners, selectors, skin tones. */
const EMOJI_PARTS = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}|\u200d|\ufe0f|\u20e3|[#*0-9]|[\u{e0020}-\u{e007f}])+$/u;
const EMOJI_CORE = /\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|\u20e3/u;

/** A reaction's emoji, NFC-normalised: one grapheme made only of emoji parts (a plain digit or letter is not one). */
export function normalizeEmoji(text: string): string {
  const emoji = text.normalize('NFC');
  const one = [...graphemes.segment(emoji)].length === 1;
  if (!one || !EMOJI_PARTS.test(emoji) || !EMOJI_CORE.test(emoji)) throw new AppError('invalid_request', 'A reaction is one emoji');
  return emoji;
}
