import { MAX_PINS, type Message } from '@parley/protocol';
import { AppError } from '../../lib/errors.ts';
import { historyFloor, isAdmin, lockMembership, requireMember } from '../chats/access.ts';
import { memberIds } from '../chats/chats.store.ts';
import { takeWritePoint, withinReadLimits } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { recordChatEvent } from '../sync/event-log.ts';
import { commit } from '../sync/unit-of-work.ts';
import { toMessage } from '../sync/views.ts';
import { messageInChat } from './messages.store.ts';
import { pinCount, pinnedMessages, setPinned } from './pins.store.ts';

interface PinInput {
  chatId: string;
  messageId: string;
}

/**
 * Pins or unpins a message, under the chat's lock so that the limit holds and each change takes its
 * place in the chat log (a `message.pinned` event carrying the message; a device offline learns of it
 * by sync). In groups and channels only the owner and admins may; in self and private chats either
 * member. Only a message the actor can read counts; in an end-to-end encrypted chat too, by its id
 * (the server reads no text to pin). A change that changes nothing records nothing.
 */
async function pin(s: Services, actor: Actor, input: PinInput, pinning: boolean): Promise<Message> {
  await takeWritePoint(s, actor);
  return commit(s, async (work) => {
    const { tx, now } = work;
    const m = await lockMembership(tx, { chatId: input.chatId, userId: actor.userId });
    const row = await messageInChat(tx, input);
    if (!row || row.deleted_at !== null || Number(row.seq) <= historyFloor(m)) throw new AppError('not_found', `Message "${input.messageId}" was not found`);
    if ((m.chat.kind === 'group' || m.chat.kind === 'channel') && !isAdmin(m.member.role))
      throw new AppError('forbidden', `Only the owner and admins can ${pinning ? 'pin' : 'unpin'} messages here`);
    if ((row.pinned_at != null) === pinning) return toMessage(row);
    if (pinning && (await pinCount(tx, row.chat_id)) >= MAX_PINS)
      throw new AppError('too_many_pins', `A chat may have at most ${MAX_PINS} pinned messages: unpin one first`);
    const state = pinning ? { at: now, by: actor.userId } : null;
    await setPinned(tx, { messageId: row.id, pin: state });
    const updated = { ...row, pinned_at: state?.at ?? null, pinned_by: state?.by ?? null };
    await recordChatEvent(work, {
      chatId: row.chat_id,
      type: 'message.pinned',
      actorId: actor.userId,
      recipients: await memberIds(tx, row.chat_id),
      message: updated,
      data: { pinned: pinning },
    });
    return toMessage(updated);
  });
}

export function pinMessage(s: Services, actor: Actor, input: PinInput): Promise<Message> {
  return pin(s, actor, input, true);
}

export function unpinMessage(s: Services, actor: Actor, input: PinInput): Promise<Message> {
  return pin(s, actor, input, false);
}

/** The pinned messages of a chat I am in, within my history, the latest pinned first. */
export async function listPins(s: Services, actor: Actor, input: { chatId: string }): Promise<{ messages: Message[] }> {
  return withinReadLimits(s, actor, async () => {
    const m = await requireMember(s.db.kysely, { chatId: input.chatId, userId: actor.userId });
    const rows = await pinnedMessages(s.db.kysely, { chatId: input.chatId, floor: historyFloor(m), limit: MAX_PINS });
    return { messages: rows.map(toMessage) };
  });
}
