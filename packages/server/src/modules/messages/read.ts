import { changeAsMember } from '../chats/access.ts';
import { memberIds } from '../chats/chats.store.ts';
import type { Actor, Services } from '../services.ts';
import { recordChatEvent, recordUserEvent } from '../sync/event-log.ts';
import { lastMessageSeqUpTo, setReadSeq, unreadCount } from './messages.store.ts';

/** Moves my read position forward (never back); other members see it in private chats and groups. */
export async function markRead(s: Services, actor: Actor, input: { chatId: string; seq: number }): Promise<{ readSeq: number; unreadCount: number }> {
  const { chatId } = input;
  return changeAsMember(s, { actor, chatId }, async (work, m) => {
    // Read marks stop at a message: positions after it hold only other changes (read marks among
    // them), so two readers each marking the chat read up to its end do not answer each other forever.
    const target = await lastMessageSeqUpTo(work.tx, { chatId, seq: Math.min(input.seq, m.chat.last_seq) });
    let readSeq = m.member.read_seq;
    if (target > readSeq) {
      readSeq = target;
      await setReadSeq(work.tx, { chatId, userId: actor.userId, seq: readSeq });
      if (m.chat.kind === 'private' || m.chat.kind === 'group') {
        const read = { userId: actor.userId, seq: readSeq };
        await recordChatEvent(work, { chatId, type: 'read.updated', actorId: actor.userId, recipients: await memberIds(work.tx, chatId), data: { read } });
      }
      await recordUserEvent(work, actor.userId, { type: 'chat.read', chatId, seq: readSeq });
    }
    const hiddenSeq = m.member.hidden_seq === null ? null : Number(m.member.hidden_seq);
    return { readSeq, unreadCount: await unreadCount(work.tx, { chatId, userId: actor.userId, readSeq, hiddenSeq }) };
  });
}
