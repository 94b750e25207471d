import { MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_PERSON, type Message } from '@parley/protocol';
import { AppError } from '../../lib/errors.ts';
import { normalizeEmoji } from '../../lib/text.ts';
import { historyFloor, lockMembership } from '../chats/access.ts';
import { memberIds } from '../chats/chats.store.ts';
import { takeWritePoint } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { recordChatEvent } from '../sync/event-log.ts';
import { commit } from '../sync/unit-of-work.ts';
import { toMessage } from '../sync/views.ts';
import { messageInChat } from './messages.store.ts';
import { deleteReaction, insertReaction, reactionSummary, reactionsOf, setReactionSummary } from './reactions.store.ts';

interface ReactionInput {
  chatId: string;
  messageId: string;
  emoji: string;
}

/**
 * Adds or takes back my reaction. Under the chat's lock, so that the message's summary and the
 * position of its `message.reacted` event follow one order; a change that changes nothing (the same
 * reaction again, or one I never made) records nothing. Any member may react, in a channel too, to a
 * message they can read (not one from before their history starts, not a deleted one).
 */
async function react(s: Services, actor: Actor, input: ReactionInput, adding: boolean): Promise<Message> {
  const emoji = normalizeEmoji(input.emoji);
  await takeWritePoint(s, actor);
  return commit(s, async (work) => {
    const { tx, now } = work;
    const m = await lockMembership(tx, { chatId: input.chatId, userId: actor.userId });
    const row = await messageInChat(tx, input);
    const floor = historyFloor(m);
    if (!row || row.deleted_at !== null || Number(row.seq) <= floor) throw new AppError('not_found', `Message "${input.messageId}" was not found`);
    const target = { messageId: row.id, userId: actor.userId, emoji };
    if (adding) {
      const mine = await reactionsOf(tx, target);
      if (mine.includes(emoji)) return toMessage(row);
      if (mine.length >= MAX_REACTIONS_PER_PERSON)
        throw new AppError('too_many_reactions', `One person may put at most ${MAX_REACTIONS_PER_PERSON} different emoji on a message`);
      const summary = await reactionSummary(tx, row.id);
      if (!summary.some((r) => r.emoji === emoji) && summary.length >= MAX_REACTIONS_PER_MESSAGE)
        throw new AppError('too_many_reactions', `A message may carry at most ${MAX_REACTIONS_PER_MESSAGE} different emoji`);
      await insertReaction(tx, { ...target, chatId: row.chat_id, at: now });
    } else if (!(await deleteReaction(tx, target))) return toMessage(row);
    const updated = { ...row, reactions: await setReactionSummary(tx, row.id, await reactionSummary(tx, row.id)) };
    await recordChatEvent(work, {
      chatId: row.chat_id,
      type: 'message.reacted',
      actorId: actor.userId,
      recipients: await memberIds(tx, row.chat_id),
      message: updated,
    });
    return toMessage(updated);
  });
}

export function addReaction(s: Services, actor: Actor, input: ReactionInput): Promise<Message> {
  return react(s, actor, input, true);
}

export function removeReaction(s: Services, actor: Actor, input: ReactionInput): Promise<Message> {
  return react(s, actor, input, false);
}
