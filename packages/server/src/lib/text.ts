import { AppError } from './errors.ts';

/** Unicode code points, not UTF-16 units: what a user counts as characters. */
export function codePoints(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

/** A message text: NFC, not blank, at most `max` code points. */
export function normalizeText(text: string, max: number): string {
  const clean = text.normalize('NFC');
  if (clean.trim().length === 0) throw new AppError('invalid_request', 'The message text must not be blank');
  const length = codePoints(clean);
  if (length > max) throw new AppError('message_too_long', `A message can be at most ${max} characters (got ${length})`);
  return clean;
}

/** A chat title: NFC, trimmed, not blank. */
export function normalizeTitle(title: string): string {
  const clean = title.normalize('NFC').trim();
  if (clean.length === 0) throw new AppError('invalid_request', 'The title must not be blank');
  return clean;
}

const USERNAME = /^[a-z0-9_]{3,32}$/;

/** A username: lower case, 3 to 32 of a-z, 0-9 and _. */
export function normalizeUsername(username: string): string {
  const name = username.trim().toLowerCase();
  if (!USERNAME.test(name)) throw new AppError('invalid_request', `Username "${username}" must be 3 to 32 of a-z, 0-9 and _`);
  return name;
}

/** A display name: NFC, trimmed, 1 to 64 code points. */
export function normalizeDisplayName(name: string): string {
  const clean = name.normalize('NFC').trim();
  const length = codePoints(clean);
  if (length < 1 || length > 64) throw new AppError('invalid_request', 'Display name must be 1 to 64 characters');
  return clean;
}
