import type { Role } from '@parley/protocol';
import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { DB } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import type { Actor, Services } from '../services.ts';
import { commit, type Work } from '../sync/unit-of-work.ts';
import { findMembership, lockChat, type Membership } from './chats.store.ts';

export type { Membership } from './chats.store.ts';

/** The same answer for a chat that exists but is not mine as for one that does not exist. */
export function chatNotFound(chatId: string): AppError {
  return new AppError('not_found', `Chat "${chatId}" was not found`);
}

/** Text refused in a chat whose messages are end-to-end encrypted: the server must never hold it. */
export function e2eeRequired(chatId: string): AppError {
  return new AppError('e2ee_required', `Chat "${chatId}" is end-to-end encrypted: its messages cannot be sent as text`);
}

/** Whether a chat's messages are end-to-end encrypted. */
export function isE2ee(chat: { e2ee?: number | null }): boolean {
  return Number(chat.e2ee ?? 0) === 1;
}

/** Loads the chat and my membership, or fails with 404. */
export async function requireMember(db: Kysely<DB>, options: { chatId: string; userId: string }): Promise<Membership> {
  const m = await findMembership(db, options);
  if (!m) throw chatNotFound(options.chatId);
  return m;
}

/** Like requireMember, under the chat row lock: for changes that depend on who is a member. */
export async function lockMembership(tx: Tx, options: { chatId: string; userId: string }): Promise<Membership> {
  await lockChat(tx, options.chatId);
  return requireMember(tx, options);
}

/**
 * The position a member's history starts after: where they joined, or where they last deleted the
 * chat for themselves. History, search and reactions read nothing at or before it.
 */
export function historyFloor(m: Membership): number {
  return Math.max(Number(m.member.joined_seq), m.member.hidden_seq === null ? 0 : Number(m.member.hidden_seq));
}

export function isAdmin(role: Role): boolean {
  return role === 'owner' || role === 'admin';
}

/** Who may post: everyone in self, private and group chats; in a channel only the owner and admins. */
export function canPost(m: Membership): boolean {
  return m.chat.kind !== 'channel' || isAdmin(m.member.role);
}

export function requireAdmin(m: Membership, action: string): void {
  if (m.chat.kind !== 'group' && m.chat.kind !== 'channel') throw new AppError('invalid_request', `Only groups and channels can ${action}`);
  if (!isAdmin(m.member.role)) throw new AppError('forbidden', `Only the owner and admins can ${action}`);
}

export interface MemberChange {
  actor: Actor;
  chatId: string;
  /** the action, when only the owner and admins may do it ("add members") */
  admin?: string;
}

/** A change to a chat by one of its members: one transaction, under the chat row lock, announced after commit. */
export function changeAsMember<T>(s: Services, change: MemberChange, fn: (work: Work, m: Membership) => Promise<T>): Promise<T> {
  return commit(s, async (work) => {
    const m = await lockMembership(work.tx, { chatId: change.chatId, userId: change.actor.userId });
    if (change.admin) requireAdmin(m, change.admin);
    return fn(work, m);
  });
}
