import type { Chat } from '@parley/protocol';
import { normalizeTitle } from '../../lib/text.ts';
import { changeAvatar } from '../accounts/avatars.ts';
import { takeWritePoint } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { recordChatEvent, recordUserEvent } from '../sync/event-log.ts';
import { changeAsMember, requireAdmin } from './access.ts';
import { memberIds, setMuted, setTitle } from './chats.store.ts';
import { getChat } from './get.ts';

/**
 * Renames the chat or changes its picture (owner and admins; everyone in it sees it) and/or mutes
 * it for me (my log only).
 */
export async function updateChat(
  s: Services,
  actor: Actor,
  input: { chatId: string; title?: string; avatarFileId?: string | null; muted?: boolean },
): Promise<Chat> {
  const { chatId } = input;
  await takeWritePoint(s, actor);
  await changeAsMember(s, { actor, chatId }, async (work, m) => {
    if (input.title !== undefined) {
      requireAdmin(m, 'rename the chat');
      const title = normalizeTitle(input.title);
      await setTitle(work.tx, { chatId, title });
      await recordChatEvent(work, { chatId, type: 'chat.updated', actorId: actor.userId, recipients: await memberIds(work.tx, chatId), data: { title } });
    }
    if (input.avatarFileId !== undefined && input.avatarFileId !== m.chat.avatar_file_id) {
      requireAdmin(m, 'change the picture');
      const avatarFileId = input.avatarFileId;
      await changeAvatar(work.tx, { table: 'chats', id: chatId, ownerId: actor.userId, fileId: avatarFileId, now: work.now });
      await recordChatEvent(work, {
        chatId,
        type: 'chat.updated',
        actorId: actor.userId,
        recipients: await memberIds(work.tx, chatId),
        data: { avatarFileId },
      });
    }
    if (input.muted !== undefined && (m.member.muted === 1) !== input.muted) {
      await setMuted(work.tx, { chatId, userId: actor.userId, muted: input.muted });
      await recordUserEvent(work, actor.userId, { type: 'chat.muted', chatId, muted: input.muted });
    }
  });
  return getChat(s, actor, chatId);
}
