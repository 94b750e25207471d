import type { Role } from '@parley/protocol';
import type { Database, Tx } from '../../adapters/db/database.ts';
import { precompiled } from '../../adapters/db/precompiled.ts';
import type { ChatsTable, MembersTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../errors.ts';

export interface Membership {
  chat: ChatsTable;
  member: MembersTable;
}

/** The same answer for a chat that exists but is not mine as for one that does not exist. */
export function chatNotFound(chatId: string): AppError {
  return new AppError('not_found', `Chat "${chatId}" was not found`);
}

/** Loads the chat and my membership, or fails with 404. `lock` takes the chat row lock first (writes). */
export async function requireMember(db: Database, tx: Tx, chatId: string, userId: string, lock = false): Promise<Membership> {
  if (lock && db.dialect === 'postgres') {
    // Taking the chat row lock before reading membership serialises changes to one chat's members.
    // SQLite needs no lock: its one connection runs one transaction at a time.
    await db.forUpdate(tx.selectFrom('chats').select('id').where('id', '=', chatId)).execute();
  }
  const row = await tx
    .selectFrom('members')
    .innerJoin('chats', 'chats.id', 'members.chat_id')
    .selectAll('chats')
    .select([
      'members.user_id',
      'members.role',
      'members.joined_at',
      'members.joined_seq',
      'members.read_seq',
      'members.hidden_seq',
      'members.muted',
    ])
    .where('members.chat_id', '=', chatId)
    .where('members.user_id', '=', userId)
    .where('chats.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw chatNotFound(chatId);
  const { user_id, role, joined_at, joined_seq, read_seq, hidden_seq, muted, ...chat } = row;
  return {
    chat: { ...chat, last_seq: Number(chat.last_seq) },
    member: { chat_id: chatId, user_id, role, joined_at, joined_seq: Number(joined_seq), read_seq: Number(read_seq), hidden_seq, muted },
  };
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

// Read from the primary key index alone; on the send path, for every message.
const memberRows = precompiled((db, chatId: string) => db.selectFrom('members').select('user_id').where('chat_id', '=', chatId));

export async function memberIds(tx: Tx, chatId: string): Promise<string[]> {
  return (await memberRows(tx, chatId)).map((r) => r.user_id);
}
