import type { Message } from '@parley/protocol';
import type { MessagesTable } from '../../adapters/db/schema.ts';
import { iso } from '../sessions/views.ts';

export function toMessage(row: MessagesTable): Message {
  return {
    id: row.id,
    chatId: row.chat_id,
    seq: Number(row.seq),
    senderId: row.sender_id,
    kind: row.kind,
    text: row.deleted_at === null ? row.text : null,
    clientMessageId: row.client_message_id,
    replyToId: row.reply_to_id,
    createdAt: iso(row.created_at),
    editedAt: row.edited_at === null ? null : iso(row.edited_at),
    deletedAt: row.deleted_at === null ? null : iso(row.deleted_at),
  };
}
