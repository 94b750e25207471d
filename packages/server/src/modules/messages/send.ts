import type { Message } from '@parley/protocol';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { isUniqueViolation, type Tx } from '../../adapters/db/database.ts';
import { precompiled } from '../../adapters/db/precompiled.ts';
import type { MessagesTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../errors.ts';
import type { Actor, Services } from '../../services.ts';
import { chatNotFound, isAdmin, memberIds, requireMember } from '../chats/access.ts';
import { change } from '../chats/chats.ts';
import { newOrderedId } from '../sessions/tokens.ts';
import { recordChatEvent, type Outbox } from '../sync/log.ts';
import { toMessage } from './views.ts';

export interface SendInput {
  chatId: string;
  text: string;
  clientMessageId: string;
  replyToId?: string;
}

/** NFC, then 1 to the limit of Unicode code points. */
export function normalizeText(s: Services, text: string): string {
  const clean = text.normalize('NFC');
  if (clean.trim().length === 0) throw new AppError('invalid_request', 'The message text must not be blank');
  let length = 0;
  for (const _ of clean) length++;
  const max = s.config.limits.messageLength;
  if (length > max) throw new AppError('message_too_long', `A message can be at most ${max} characters (got ${length})`);
  return clean;
}

async function findSent(tx: Tx, chatId: string, senderId: string, clientMessageId: string): Promise<MessagesTable | undefined> {
  return tx
    .selectFrom('messages')
    .selectAll()
    .where('chat_id', '=', chatId)
    .where('sender_id', '=', senderId)
    .where('client_message_id', '=', clientMessageId)
    .executeTakeFirst();
}

/** Takes one of the sender's message points; with none left, returns the limiter's answer (when to try again). */
async function consumeMessagePoint(s: Services, userId: string): Promise<RateLimiterRes | null> {
  try {
    await s.limiters.messages.consume(userId);
    return null;
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    return err;
  }
}

function rateLimited(res: RateLimiterRes): AppError {
  const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  return new AppError('rate_limited', `Too many messages, try again in ${retryAfter} seconds`, { 'retry-after': String(retryAfter) });
}

/**
 * Sends a message. It joins the next group commit and is acknowledged only after that transaction
 * commits; a retry with the same clientMessageId returns the original message and writes nothing.
 */
export async function sendMessage(s: Services, actor: Actor, input: SendInput): Promise<Message> {
  const text = normalizeText(s, input.text);
  const limited = await consumeMessagePoint(s, actor.userId);
  if (limited) {
    // A retry of a message already sent is answered even at the limit: it writes nothing.
    const earlier = await findSent(s.db.kysely, input.chatId, actor.userId, input.clientMessageId);
    if (earlier) {
      await requireMember(s.db, s.db.kysely, input.chatId, actor.userId);
      return toMessage(earlier);
    }
    throw rateLimited(limited);
  }
  const now = s.now();
  try {
    const message = await change(s, (tx, out) => writeMessage(tx, out, actor, input, text, now), { grouped: true });
    s.metrics.messagesSent.inc();
    return message;
  } catch (err) {
    // A retry, or two copies of one send racing: the constraint let one in; the other returns it.
    if (!isUniqueViolation(err)) throw err;
    const original = await findSent(s.db.kysely, input.chatId, actor.userId, input.clientMessageId);
    if (!original) throw err;
    await s.limiters.messages.reward(actor.userId).catch(() => {});
    return toMessage(original);
  }
}

/** The next position of a chat that is not deleted, and what kind of chat it is (see nextChatSeq). */
const takePosition = precompiled((db, chatId: string) =>
  db
    .updateTable('chats')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', chatId)
    .where('deleted_at', 'is', null)
    .returning(['last_seq', 'kind']),
);

// Roles matter only in channels, so they are read there apart from the member list.
const roleIn = precompiled((db, chatId: string, userId: string) => db.selectFrom('members').select('role').where('chat_id', '=', chatId).where('user_id', '=', userId));

const insertMessage = precompiled((db, id: string, chatId: string, seq: number, senderId: string, clientMessageId: string, text: string, replyToId: string | null, createdAt: number) =>
  db.insertInto('messages').values({
    id,
    chat_id: chatId,
    seq,
    sender_id: senderId,
    client_message_id: clientMessageId,
    kind: 'text',
    text,
    reply_to_id: replyToId,
    created_at: createdAt,
    edited_at: null,
    deleted_at: null,
  }),
);

/**
 * The writes of one send, in the fewest statements: taking the next position also takes the chat
 * row lock (PostgreSQL), so a member removed a moment ago cannot still post; the member list read
 * under it both checks access and names the recipients. A failure rolls back the send's savepoint.
 */
async function writeMessage(tx: Tx, out: Outbox, actor: Actor, input: SendInput, text: string, now: number): Promise<Message> {
  const [taken] = await takePosition(tx, input.chatId);
  if (!taken) throw chatNotFound(input.chatId);
  const seq = Number(taken.last_seq);
  const recipients = await memberIds(tx, input.chatId);
  if (!recipients.includes(actor.userId)) throw chatNotFound(input.chatId);
  if (taken.kind === 'channel') {
    const [me] = await roleIn(tx, input.chatId, actor.userId);
    if (!isAdmin(me!.role)) throw new AppError('cannot_post', 'Only the owner and admins can post in a channel');
  }
  if (input.replyToId) {
    const target = await tx.selectFrom('messages').select('id').where('id', '=', input.replyToId).where('chat_id', '=', input.chatId).executeTakeFirst();
    if (!target) throw new AppError('invalid_request', `The message replied to, "${input.replyToId}", is not in this chat`);
  }
  const row: MessagesTable = {
    id: newOrderedId(),
    chat_id: input.chatId,
    seq,
    sender_id: actor.userId,
    client_message_id: input.clientMessageId,
    kind: 'text',
    text,
    reply_to_id: input.replyToId ?? null,
    created_at: now,
    edited_at: null,
    deleted_at: null,
  };
  await insertMessage(tx, row.id, row.chat_id, seq, row.sender_id, row.client_message_id, text, row.reply_to_id, now);
  await recordChatEvent(tx, out, { chatId: input.chatId, type: 'message.created', actorId: actor.userId, recipients, message: row, seq }, now);
  return toMessage(row);
}

