import { AppError } from '../../lib/errors.ts';
import type { Actor, Services } from '../services.ts';
import { recordUserEvent } from '../sync/event-log.ts';
import type { Work } from '../sync/unit-of-work.ts';
import { changeAsMember, type Membership } from './access.ts';
import { markDeleted, memberIds, setHiddenSeq } from './chats.store.ts';

/** Ends a chat for everyone in it: their logs say so, the rows go now or at the next cleanup. */
export async function deleteForEveryone(work: Work, chatId: string): Promise<void> {
  const members = await memberIds(work.tx, chatId);
  await markDeleted(work.tx, { chatId, at: work.now });
  for (const userId of members.sort()) await recordUserEvent(work, userId, { type: 'chat.deleted', chatId });
}

/** Deletes a chat for me alone: it leaves my list, and a device new to it starts from here. */
export async function hideForMe(work: Work, m: Membership): Promise<void> {
  await setHiddenSeq(work.tx, { chatId: m.chat.id, userId: m.member.user_id, seq: m.chat.last_seq });
  await recordUserEvent(work, m.member.user_id, { type: 'chat.hidden', chatId: m.chat.id, seq: m.chat.last_seq });
}

export async function deleteChat(s: Services, actor: Actor, input: { chatId: string; forEveryone?: boolean }): Promise<void> {
  const { chatId } = input;
  await changeAsMember(s, { actor, chatId }, async (work, m) => {
    if (m.chat.kind === 'self') throw new AppError('invalid_request', 'Saved messages cannot be deleted');
    if (m.chat.kind === 'private') return input.forEveryone ? deleteForEveryone(work, chatId) : hideForMe(work, m);
    if (m.member.role !== 'owner') throw new AppError('forbidden', `Only the owner can delete this ${m.chat.kind}`);
    await deleteForEveryone(work, chatId);
  });
}
