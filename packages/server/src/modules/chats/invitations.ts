import type { Chat, ChatInvitation } from '@parley/protocol';
import { AppError } from '../../lib/errors.ts';
import { iso } from '../../lib/time.ts';
import { toUser } from '../accounts/views.ts';
import { takeWritePoint } from '../limits/limits.ts';
import type { Actor, Services } from '../services.ts';
import { commit } from '../sync/unit-of-work.ts';
import { chatNotFound } from './access.ts';
import { existingMembers, lockChat, type MemberRole } from './chats.store.ts';
import { getChat } from './get.ts';
import * as store from './invitations.store.ts';
import { checkChatLimit, memberLimit } from './limits.ts';
import { addMemberRows } from './members.ts';

export async function listChatInvitations(s: Services, actor: Actor): Promise<ChatInvitation[]> {
  return (await store.invitationRows(s.db.kysely, actor.userId)).map((r) => ({
    chatId: r.chat_id,
    kind: r.kind as ChatInvitation['kind'],
    title: r.title ?? '',
    invitedBy: toUser({
      id: r.inviter_id,
      username: r.inviter_username,
      display_name: r.inviter_display_name,
      deleted_at: r.inviter_deleted_at,
      avatar_file_id: r.inviter_avatar_file_id,
    }),
    createdAt: iso(Number(r.created_at)),
  }));
}

/** Joins the chat an invitation is for, as the one who invited me added me; the invitation is used up. */
export async function acceptChatInvitation(s: Services, actor: Actor, chatId: string): Promise<Chat> {
  await takeWritePoint(s, actor);
  await commit(s, async (work) => {
    await lockChat(work.tx, chatId);
    const invitation = await store.findInvitation(work.tx, { chatId, userId: actor.userId });
    if (!invitation || invitation.deleted_at !== null) throw chatNotFound(chatId);
    await store.deleteInvitation(work.tx, { chatId, userId: actor.userId });
    if ((await existingMembers(work.tx, { chatId, userIds: [actor.userId] })).length > 0) return;
    const max = memberLimit(s, invitation.kind);
    if (invitation.member_count + 1 > max) throw new AppError('member_limit_reached', `A ${invitation.kind} can have at most ${max} members`);
    await checkChatLimit(s, work.tx, [actor.userId]);
    const role: MemberRole = invitation.kind === 'group' ? 'member' : 'subscriber';
    await addMemberRows(work, { chatId, users: [{ id: actor.userId, role }], actorId: invitation.invited_by });
  });
  return getChat(s, actor, chatId);
}

export async function declineChatInvitation(s: Services, actor: Actor, chatId: string): Promise<void> {
  if (!(await store.deleteInvitation(s.db.kysely, { chatId, userId: actor.userId }))) throw chatNotFound(chatId);
}
