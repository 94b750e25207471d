import { NOTICE_TYPES, type ChatNotice, type Message } from '@parley/protocol';
import type { Tx } from '../../adapters/db/database.ts';
import type { MessagesTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { normalizeText } from '../../lib/text.ts';
import { e2eeRequired, historyFloor, isAdmin, isE2ee, requireMember } from '../chats/access.ts';
import { memberIds } from '../chats/chats.store.ts';
import { takeWritePoint, withinReadLimits } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { recordChatEvent } from '../sync/event-log.ts';
import { commit } from '../sync/unit-of-work.ts';
import { releaseRefs } from '../files/files.store.ts';
import { chatNoticeView, toMessage } from '../sync/views.ts';
import { chatEventsOfTypes } from '../sync/event-log.store.ts';
import { mentionsIn } from './mentions.ts';
import { messageInChat, messagePage, setDeleted, setText } from './messages.store.ts';

export async function listMessages(s: Services, actor: Actor, input: { chatId: string; before?: number; after?: number; limit?: number }) {
  if (input.before !== undefined && input.after !== undefined) throw new AppError('invalid_request', 'Give before or after, not both');
  return withinReadLimits(s, actor, () => messagePageFor(s, actor, input));
}

async function messagePageFor(s: Services, actor: Actor, input: { chatId: string; before?: number; after?: number; limit?: number }) {
  const m = await requireMember(s.db.kysely, { chatId: input.chatId, userId: actor.userId });
  const limit = input.limit ?? 50;
  // History starts where I joined (as sync does): a member added later, or added again, does not
  // read what was said before, or while they were out; nor before where I deleted the chat for myself.
  const floor = historyFloor(m);
  // One row more than asked for says whether there is more in that direction.
  const rows = await messagePage(s.db.kysely, { chatId: input.chatId, floor, before: input.before, after: input.after, limit: limit + 1 });
  const more = rows.length > limit;
  const page = !more ? rows : input.after !== undefined ? rows.slice(0, limit) : rows.slice(1);
  const notices = m.chat.kind === 'channel' ? [] : await noticesAmong(s, { chatId: input.chatId, floor, page, more, before: input.before, after: input.after });
  return { messages: page.map(toMessage), hasMore: more, notices };
}

/** Most service lines one page carries. */
const NOTICES_PER_PAGE = 100;

/**
 * The changes a timeline shows between a page's messages: from its first message (or, when the
 * page reaches the start of my history, from where I joined: my own member.added comes just after
 * that, so "Alice added you" is there) to its last (or to now, when the page reaches the newest
 * message). Adjacent pages share no notice. Channels show none: their log is mostly subscribers
 * coming and going.
 */
async function noticesAmong(
  s: Services,
  options: { chatId: string; floor: number; page: MessagesTable[]; more: boolean; before?: number; after?: number },
): Promise<ChatNotice[]> {
  const { page, more, before, after } = options;
  const first = page[0] ? Number(page[0].seq) : null;
  const last = page.at(-1) ? Number(page.at(-1)!.seq) : null;
  // More in the asked direction: older for the latest page and `before`, newer for `after`.
  const from = Math.max(options.floor + 1, after !== undefined ? after + 1 : more && first !== null ? first + 1 : 0);
  const upTo = after !== undefined ? (more && last !== null ? last : null) : (before ?? null);
  const rows = await chatEventsOfTypes(s.db.kysely, { chatId: options.chatId, types: NOTICE_TYPES, from, before: upTo, limit: NOTICES_PER_PAGE });
  return rows.map(chatNoticeView);
}

async function requireMessage(tx: Tx, options: { chatId: string; messageId: string }): Promise<MessagesTable> {
  const row = await messageInChat(tx, options);
  if (!row) throw new AppError('not_found', `Message "${options.messageId}" was not found`);
  return row;
}

export async function editMessage(s: Services, actor: Actor, input: { chatId: string; messageId: string; text: string }): Promise<Message> {
  const text = normalizeText(input.text, s.config.limits.messageLength);
  await takeWritePoint(s, actor);
  return commit(s, async (work) => {
    const { tx, now } = work;
    const m = await requireMember(tx, { chatId: input.chatId, userId: actor.userId });
    if (isE2ee(m.chat)) throw e2eeRequired(input.chatId);
    const row = await requireMessage(tx, input);
    if (row.sender_id !== actor.userId) throw new AppError('forbidden', 'Only the sender can edit a message');
    if (row.deleted_at !== null) throw new AppError('not_found', `Message "${input.messageId}" was deleted`);
    if (row.forwarded) throw new AppError('forbidden', 'A forwarded message cannot be edited');
    const mentions = await mentionsIn(tx, { chatId: input.chatId, kind: m.chat.kind, senderId: actor.userId, text });
    await setText(tx, { messageId: row.id, text, mentions, at: now });
    const updated = { ...row, text, mentions, edited_at: now };
    await recordChatEvent(work, {
      chatId: input.chatId,
      type: 'message.edited',
      actorId: actor.userId,
      recipients: await memberIds(tx, input.chatId),
      message: updated,
    });
    return toMessage(updated);
  });
}

export async function deleteMessage(s: Services, actor: Actor, input: { chatId: string; messageId: string }): Promise<void> {
  await takeWritePoint(s, actor);
  await commit(s, async (work) => {
    const { tx, now } = work;
    const m = await requireMember(tx, { chatId: input.chatId, userId: actor.userId });
    const row = await requireMessage(tx, input);
    if (row.deleted_at !== null) return;
    const moderator = (m.chat.kind === 'group' || m.chat.kind === 'channel') && isAdmin(m.member.role);
    if (row.sender_id !== actor.userId && !moderator) throw new AppError('forbidden', 'Only the sender or an admin can delete this message');
    await setDeleted(tx, { messageId: row.id, at: now });
    // Its files become unreachable through it at once; unreferenced, they are collected after the grace.
    if (row.attachments) await releaseRefs(tx, { messageIds: [row.id], now });
    const tombstone = { ...row, text: null, attachments: null, reactions: null, deleted_at: now };
    await recordChatEvent(work, {
      chatId: input.chatId,
      type: 'message.deleted',
      actorId: actor.userId,
      recipients: await memberIds(tx, input.chatId),
      message: tombstone,
    });
  });
}
