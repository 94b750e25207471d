// The history a run pages through: chats owned by one user, each holding the same number of
// messages. The rows are typed by the server's table definitions, so a migration that renames,
// adds or retypes a column breaks the bench's typecheck instead of the bench.
import type { ChatsTable, MembersTable, MessagesTable } from '../../packages/server/src/adapters/db/schema.ts';

export interface HistoryPlan {
  ownerId: string;
  chats: number;
  perChat: number;
  /** the last message's created_at; earlier ones a second apart */
  now: number;
}

/** ~100 characters of text a message, like the fan-out's. */
export const HISTORY_PAD = 'h'.repeat(90);

export function historyPlan(ownerId: string, { chats, messages }: { chats: number; messages: number }): HistoryPlan {
  return { ownerId, chats, perChat: Math.ceil(messages / chats), now: Date.now() };
}

export function historyChatIds(plan: HistoryPlan): string[] {
  return Array.from({ length: plan.chats }, (_, c) => `hist${String(c).padStart(5, '0')}`);
}

export function chatRow(plan: HistoryPlan, id: string): ChatsTable {
  return {
    id,
    kind: 'group',
    title: id,
    owner_id: plan.ownerId,
    pair_key: null,
    last_seq: plan.perChat,
    avatar_file_id: null,
    member_count: 1,
    created_at: plan.now,
    deleted_at: null,
  };
}

export function memberRow(plan: HistoryPlan, chatId: string): MembersTable {
  return {
    chat_id: chatId,
    user_id: plan.ownerId,
    role: 'owner',
    joined_at: plan.now,
    joined_seq: 0,
    read_seq: 0,
    hidden_seq: null,
    muted: 0,
  };
}

/** Message seq (1 … perChat) of a chat. */
export function messageRow(plan: HistoryPlan, { chatId, seq }: { chatId: string; seq: number }): MessagesTable {
  return {
    id: `${chatId}m${seq}`,
    chat_id: chatId,
    seq,
    sender_id: plan.ownerId,
    client_message_id: `h${seq}`,
    kind: 'text',
    text: `history ${seq} ${HISTORY_PAD}`,
    reply_to_id: null,
    created_at: plan.now - (plan.perChat - seq) * 1000,
    edited_at: null,
    deleted_at: null,
  };
}
