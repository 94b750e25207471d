import type { Message } from '@parley/protocol';
import type { Tx } from '../../adapters/db/database.ts';
import type { MessagesTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../errors.ts';
import type { Actor, Services } from '../../services.ts';
import { isAdmin, memberIds, requireMember } from '../chats/access.ts';
import { change } from '../chats/chats.ts';
import { recordChatEvent, recordUserEvent } from '../sync/log.ts';
import { normalizeText } from './send.ts';
import { toMessage } from './views.ts';

export async function listMessages(s: Services, actor: Actor, input: { chatId: string; before?: number; after?: number; limit?: number }) {
  if (input.before !== undefined && input.after !== undefined) throw new AppError('invalid_request', 'Give before or after, not both');
  const m = await requireMember(s.db, s.db.kysely, input.chatId, actor.userId);
  const limit = input.limit ?? 50;
  let q = s.db.kysely.selectFrom('messages').selectAll().where('chat_id', '=', input.chatId);
  if (m.member.hidden_seq !== null) q = q.where('seq', '>', Number(m.member.hidden_seq));
  // One row more than asked for says whether there is more in that direction.
  if (input.after !== undefined) {
    const rows = await q.where('seq', '>', input.after).orderBy('seq', 'asc').limit(limit + 1).execute();
    return { messages: rows.slice(0, limit).map(toMessage), hasMore: rows.length > limit };
  }
  if (input.before !== undefined) q = q.where('seq', '<', input.before);
  const rows = await q.orderBy('seq', 'desc').limit(limit + 1).execute();
  return { messages: rows.slice(0, limit).reverse().map(toMessage), hasMore: rows.length > limit };
}

async function requireMessage(tx: Tx, chatId: string, messageId: string): Promise<MessagesTable> {
  const row = await tx.selectFrom('messages').selectAll().where('id', '=', messageId).where('chat_id', '=', chatId).executeTakeFirst();
  if (!row) throw new AppError('not_found', `Message "${messageId}" was not found`);
  return row;
}

export async function editMessage(s: Services, actor: Actor, input: { chatId: string; messageId: string; text: string }): Promise<Message> {
  const text = normalizeText(s, input.text);
  const now = s.now();
  return change(s, async (tx, out) => {
    await requireMember(s.db, tx, input.chatId, actor.userId);
    const row = await requireMessage(tx, input.chatId, input.messageId);
    if (row.sender_id !== actor.userId) throw new AppError('forbidden', 'Only the sender can edit a message');
    if (row.deleted_at !== null) throw new AppError('not_found', `Message "${input.messageId}" was deleted`);
    await tx.updateTable('messages').set({ text, edited_at: now }).where('id', '=', row.id).execute();
    const updated = { ...row, text, edited_at: now };
    await recordChatEvent(tx, out, { chatId: input.chatId, type: 'message.edited', actorId: actor.userId, recipients: await memberIds(tx, input.chatId), message: updated }, now);
    return toMessage(updated);
  });
}

export async function deleteMessage(s: Services, actor: Actor, input: { chatId: string; messageId: string }): Promise<void> {
  const now = s.now();
  await change(s, async (tx, out) => {
    const m = await requireMember(s.db, tx, input.chatId, actor.userId);
    const row = await requireMessage(tx, input.chatId, input.messageId);
    if (row.deleted_at !== null) return;
    const moderator = (m.chat.kind === 'group' || m.chat.kind === 'channel') && isAdmin(m.member.role);
    if (row.sender_id !== actor.userId && !moderator) throw new AppError('forbidden', 'Only the sender or an admin can delete this message');
    await tx.updateTable('messages').set({ text: null, deleted_at: now }).where('id', '=', row.id).execute();
    const tombstone = { ...row, text: null, deleted_at: now };
    await recordChatEvent(tx, out, { chatId: input.chatId, type: 'message.deleted', actorId: actor.userId, recipients: await memberIds(tx, input.chatId), message: tombstone }, now);
  });
}

export async function unreadCount(tx: Tx, chatId: string, userId: string, readSeq: number, hiddenSeq: number | null): Promise<number> {
  let q = tx
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('chat_id', '=', chatId)
    .where('seq', '>', readSeq)
    .where('sender_id', '!=', userId)
    .where('deleted_at', 'is', null);
  if (hiddenSeq !== null) q = q.where('seq', '>', hiddenSeq);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** Moves my read position forward (never back); other members see it in private chats and groups. */
export async function markRead(s: Services, actor: Actor, input: { chatId: string; seq: number }) {
  const now = s.now();
  return change(s, async (tx, out) => {
    const m = await requireMember(s.db, tx, input.chatId, actor.userId, true);
    // Read marks stop at a message: positions after it hold only other changes (read marks among
    // them), so two readers each marking the chat read up to its end do not answer each other forever.
    const lastMessage = await tx
      .selectFrom('messages')
      .select('seq')
      .where('chat_id', '=', input.chatId)
      .where('seq', '<=', Math.min(input.seq, m.chat.last_seq))
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const target = lastMessage ? Number(lastMessage.seq) : 0;
    let readSeq = m.member.read_seq;
    if (target > readSeq) {
      readSeq = target;
      await tx.updateTable('members').set({ read_seq: readSeq }).where('chat_id', '=', input.chatId).where('user_id', '=', actor.userId).execute();
      if (m.chat.kind === 'private' || m.chat.kind === 'group') {
        await recordChatEvent(tx, out, { chatId: input.chatId, type: 'read.updated', actorId: actor.userId, recipients: await memberIds(tx, input.chatId), data: { read: { userId: actor.userId, seq: readSeq } } }, now);
      }
      await recordUserEvent(tx, out, actor.userId, { type: 'chat.read', chatId: input.chatId, seq: readSeq }, now);
    }
    return { readSeq, unreadCount: await unreadCount(tx, input.chatId, actor.userId, readSeq, m.member.hidden_seq === null ? null : Number(m.member.hidden_seq)) };
  });
}
