import type { AttachmentInput, Message, MlsApplicationMessage } from '@parley/protocol';
import { isUniqueViolation } from '../../adapters/db/database.ts';
import type { MessagesTable } from '../../adapters/db/schema.ts';
import { AppError } from '../../lib/errors.ts';
import { newOrderedId } from '../../lib/ids.ts';
import { rateLimited, takePoint } from '../../lib/rate-limit.ts';
import { normalizeText } from '../../lib/text.ts';
import { chatNotFound, e2eeRequired, isAdmin, requireMember } from '../chats/access.ts';
import { attachFiles, checkAttachments } from '../files/attach.ts';
import { memberIds, roleIn } from '../chats/chats.store.ts';
import { checkApplicationMessage, requireSendable, type CheckedApplicationMessage } from '../mls/application.ts';
import type { Actor, Services } from '../services.ts';
import { recordChatEvent } from '../sync/event-log.ts';
import { nextLiveChatSeq } from '../sync/event-log.store.ts';
import { commit, type Work } from '../sync/unit-of-work.ts';
import { toMessage } from '../sync/views.ts';
import { forwardedCopy, type ForwardFrom } from './forward.ts';
import { mentionsIn } from './mentions.ts';
import { findSent, insertMessage, isInChat, messageInChat, setEdited } from './messages.store.ts';

export interface SendInput {
  chatId: string;
  /** may be empty (or absent) when there are attachments */
  text?: string;
  attachments?: AttachmentInput[];
  clientMessageId: string;
  replyToId?: string;
  forwardFrom?: ForwardFrom;
  /** an end-to-end encrypted chat's message, instead of text and attachments */
  mls?: MlsApplicationMessage;
}

function notE2ee(chatId: string): AppError {
  return new AppError('not_e2ee', `Chat "${chatId}" is not end-to-end encrypted: its messages are sent as text`);
}

/**
 * Sends a message. It joins the next group commit and is acknowledged only after that transaction
 * commits; a retry with the same clientMessageId returns the original message and writes nothing.
 */
export async function sendMessage(s: Services, actor: Actor, input: SendInput): Promise<Message> {
  const attachments = checkAttachments(input.attachments);
  if (input.mls && (attachments.length > 0 || (input.text ?? '') !== '' || input.forwardFrom)) {
    throw new AppError('invalid_request', 'An encrypted message carries its text and files inside its ciphertext, not beside it');
  }
  if (input.forwardFrom && ((input.text ?? '') !== '' || attachments.length > 0))
    throw new AppError('invalid_request', 'A forward copies its message: send no text or attachments with it');
  // A message of files alone has no text (a forward takes its source's); otherwise the text rules hold as ever.
  const text =
    input.mls || input.forwardFrom || (attachments.length > 0 && (input.text ?? '') === '')
      ? ''
      : normalizeText(input.text ?? '', s.config.limits.messageLength);
  const sent = { chatId: input.chatId, senderId: actor.userId, clientMessageId: input.clientMessageId };
  const limited = await takePoint(s.limiters.messages, actor.userId);
  if (limited) {
    // A retry of a message already sent is answered even at the limit: it writes nothing.
    const earlier = await findSent(s.db.kysely, sent);
    if (earlier) {
      await requireMember(s.db.kysely, { chatId: input.chatId, userId: actor.userId });
      return toMessage(earlier);
    }
    throw rateLimited(limited, 'messages');
  }
  try {
    const encrypted = input.mls ? await checkApplicationMessage(s.db.kysely, actor, input.chatId, input.mls) : undefined;
    const message = await commit(s, (work) => writeMessage(work, actor, { ...input, text, attachments, encrypted }), { grouped: true });
    s.metrics.messagesSent.inc();
    return message;
  } catch (err) {
    // A retry, or two copies of one send racing: the constraint let one in; the other returns it.
    if (!isUniqueViolation(err)) throw err;
    const original = await findSent(s.db.kysely, sent);
    if (!original) throw err;
    await s.limiters.messages.reward(actor.userId).catch(() => {});
    return toMessage(original);
  }
}

/**
 * The writes of one send, in the fewest statements: taking the next position also takes the chat
 * row lock (PostgreSQL), so a member removed a moment ago cannot still post; the member list read
 * under it both checks access and names the recipients. A failure rolls back the send's savepoint.
 */
async function writeMessage(
  work: Work,
  actor: Actor,
  input: SendInput & { text: string; attachments: AttachmentInput[]; encrypted: CheckedApplicationMessage | undefined },
): Promise<Message> {
  const { tx, now } = work;
  const taken = await nextLiveChatSeq(tx, input.chatId);
  if (!taken) throw chatNotFound(input.chatId);
  const recipients = await memberIds(tx, input.chatId);
  if (!recipients.includes(actor.userId)) throw chatNotFound(input.chatId);
  const { encrypted } = input;
  // The server never takes text into an end-to-end encrypted chat, nor ciphertext into another.
  if (taken.e2ee && !encrypted) throw e2eeRequired(input.chatId);
  if (!taken.e2ee && encrypted) throw notE2ee(input.chatId);
  if (encrypted) {
    await requireSendable(tx, { chatId: input.chatId, epoch: taken.mlsEpoch, message: encrypted });
    if (encrypted.editOf !== null) await requireEditable(tx, { chatId: input.chatId, messageId: encrypted.editOf, actor, at: now });
  }
  if (taken.kind === 'channel' && !isAdmin((await roleIn(tx, { chatId: input.chatId, userId: actor.userId }))!)) {
    throw new AppError('cannot_post', 'Only the owner and admins can post in a channel');
  }
  if (input.replyToId && !(await isInChat(tx, { chatId: input.chatId, messageId: input.replyToId }))) {
    throw new AppError('invalid_request', `The message replied to, "${input.replyToId}", is not in this chat`);
  }
  const id = newOrderedId();
  const copy = input.forwardFrom ? await forwardedCopy(tx, { senderId: actor.userId, from: input.forwardFrom, chatId: input.chatId, messageId: id }) : null;
  const attached = await attachFiles(tx, { ownerId: actor.userId, chatId: input.chatId, messageId: id, attachments: input.attachments });
  const text = copy ? copy.text : input.text;
  const row: MessagesTable & { text: string } = {
    id,
    chat_id: input.chatId,
    seq: taken.seq,
    sender_id: actor.userId,
    client_message_id: input.clientMessageId,
    kind: encrypted ? 'mls' : 'text',
    text,
    reply_to_id: input.replyToId ?? null,
    created_at: now,
    edited_at: null,
    deleted_at: null,
    attachments: copy ? copy.attachments : attached.length > 0 ? JSON.stringify(attached) : null,
    forwarded: copy?.forwarded ?? null,
    // A forward is someone else's words: it mentions nobody anew; an encrypted message's words are not the server's to read.
    mentions: copy || encrypted ? null : await mentionsIn(tx, { chatId: input.chatId, kind: taken.kind, senderId: actor.userId, text }),
    ciphertext: encrypted?.ciphertext ?? null,
    mls_epoch: encrypted?.epoch ?? null,
    edit_of: encrypted?.editOf ?? null,
  };
  await insertMessage(tx, row);
  await recordChatEvent(work, { chatId: input.chatId, type: 'message.created', actorId: actor.userId, recipients, message: row, seq: taken.seq });
  return toMessage(row);
}

/** An encrypted edit replaces a message of mine, not deleted and not itself an edit, which it marks edited. */
async function requireEditable(work: Work['tx'], options: { chatId: string; messageId: string; actor: Actor; at: number }): Promise<void> {
  const original = await messageInChat(work, { chatId: options.chatId, messageId: options.messageId });
  if (!original || original.deleted_at !== null) throw new AppError('not_found', `Message "${options.messageId}" was not found`);
  if (original.sender_id !== options.actor.userId) throw new AppError('forbidden', 'Only the sender can edit a message');
  if (original.kind !== 'mls' || original.edit_of) throw new AppError('invalid_request', 'An edit replaces an encrypted message that is not itself an edit');
  await setEdited(work, { messageId: original.id, at: options.at });
}
