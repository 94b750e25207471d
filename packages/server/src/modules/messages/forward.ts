import type { Attachment, Forwarded } from '@parley/protocol';
import type { Tx } from '../../adapters/db/database.ts';
import { AppError } from '../../lib/errors.ts';
import { iso } from '../../lib/time.ts';
import { e2eeRequired, historyFloor, isE2ee, requireMember } from '../chats/access.ts';
import { insertRefs } from '../files/files.store.ts';
import { forwardOrigin, takeForwardRefs } from './forward.store.ts';
import { messageInChat } from './messages.store.ts';

export interface ForwardFrom {
  chatId: string;
  messageId: string;
}

/** What a forward copies into the new message, as the messages columns keep it. */
export interface ForwardedCopy {
  text: string;
  attachments: string | null;
  forwarded: string;
}

/**
 * Copies a message the sender can read (a member of its chat, the message not deleted and within
 * their history) into a new message of another chat, inside the send's transaction: its text, its
 * files (each gets one more reference, so it outlives the original) and where it first came from.
 * An end-to-end encrypted chat is neither a source nor (checked by the send) a target: the server
 * cannot read what it would copy, and clients would have to encrypt it again.
 */
export async function forwardedCopy(tx: Tx, options: { senderId: string; from: ForwardFrom; chatId: string; messageId: string }): Promise<ForwardedCopy> {
  const { from } = options;
  const m = await requireMember(tx, { chatId: from.chatId, userId: options.senderId });
  if (isE2ee(m.chat)) throw e2eeRequired(from.chatId);
  const row = await messageInChat(tx, from);
  if (!row || row.deleted_at !== null || Number(row.seq) <= historyFloor(m)) throw new AppError('not_found', `Message "${from.messageId}" was not found`);
  let origin: Forwarded;
  if (row.forwarded) origin = JSON.parse(row.forwarded) as Forwarded;
  else {
    const o = await forwardOrigin(tx, { chatId: row.chat_id, senderId: row.sender_id });
    origin = {
      senderId: row.sender_id,
      senderName: o.senderName,
      ...(o.kind === 'channel' && o.title ? { chatTitle: o.title } : {}),
      at: iso(Number(row.created_at)),
    };
  }
  const attachments = row.attachments ? (JSON.parse(row.attachments) as Attachment[]) : [];
  const ids = attachments.map((a) => a.fileId);
  const taken = await takeForwardRefs(tx, ids);
  if (taken.length !== ids.length) throw new AppError('attachment_unavailable', `A file of message "${from.messageId}" is no longer available`);
  await insertRefs(
    tx,
    ids.map((fileId) => ({ file_id: fileId, message_id: options.messageId, chat_id: options.chatId })),
  );
  return { text: row.text ?? '', attachments: row.attachments ?? null, forwarded: JSON.stringify(origin) };
}
