import { AppError } from '../../lib/errors.ts';
import type { Services } from '../services.ts';
import type { Tx } from '../../adapters/db/database.ts';
import { activeUserIds, chatCounts, lockUsers } from './chats.store.ts';

/** Refuses when any of these users is already in as many chats as allowed. */
export async function checkChatLimit(s: Services, tx: Tx, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  await lockUsers(tx, userIds);
  const max = s.config.limits.chatsPerUser;
  const full = (await chatCounts(tx, userIds)).find((r) => r.chats >= max);
  if (full) throw new AppError('chat_limit_reached', `A user can be in at most ${max} chats; user "${full.userId}" is at the limit`);
}

/** Refuses when any of these users has no account (or a deleted one). */
export async function requireUsers(tx: Tx, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  const found = await activeUserIds(tx, userIds);
  const missing = userIds.find((id) => !found.has(id));
  if (missing !== undefined) throw new AppError('not_found', `User "${missing}" was not found`);
}

/** The most members a chat of this kind may have. */
export function memberLimit(s: Services, kind: 'group' | 'channel' | string): number {
  return kind === 'group' ? s.config.limits.groupMembers : s.config.limits.channelSubscribers;
}
