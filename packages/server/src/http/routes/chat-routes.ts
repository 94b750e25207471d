import type { FastifyInstance } from 'fastify';
import { api } from '@parley/protocol';
import { createChannel, createGroup, createPrivateChat } from '../../modules/chats/create.ts';
import { deleteChat } from '../../modules/chats/delete.ts';
import { getChat, listChats, listMembers } from '../../modules/chats/get.ts';
import * as invitations from '../../modules/chats/invitations.ts';
import { addMembers, leaveChat, removeMember } from '../../modules/chats/members.ts';
import { setMemberRole, transferOwnership } from '../../modules/chats/ownership.ts';
import { updateChat } from '../../modules/chats/update.ts';
import * as messages from '../../modules/messages/messages.ts';
import { markRead } from '../../modules/messages/read.ts';
import { listPins, pinMessage, unpinMessage } from '../../modules/messages/pins.ts';
import { addReaction, removeReaction } from '../../modules/messages/reactions.ts';
import { searchMessages } from '../../modules/messages/search.ts';
import { sendMessage } from '../../modules/messages/send.ts';
import type { AppContext } from '../../modules/app-context.ts';
import { getChanges } from '../../modules/sync/sync.ts';
import { withinReadLimits } from '../../modules/limits/limits.ts';
import { route } from '../route.ts';

export function chatRoutes(app: FastifyInstance, ctx: AppContext): void {
  route(app, ctx, api.listChats, async ({ actor }) => ({ chats: await listChats(ctx, actor) }));
  route(app, ctx, api.getChat, ({ actor, input }) => getChat(ctx, actor, input.chatId));
  route(app, ctx, api.createPrivateChat, ({ actor, input }) => createPrivateChat(ctx, actor, input.userId));
  route(app, ctx, api.createGroup, ({ actor, input }) => createGroup(ctx, actor, input));
  route(app, ctx, api.createChannel, ({ actor, input }) => createChannel(ctx, actor, input));
  route(app, ctx, api.updateChat, ({ actor, input }) => updateChat(ctx, actor, input));
  route(app, ctx, api.deleteChat, ({ actor, input }) => deleteChat(ctx, actor, input));
  route(app, ctx, api.leaveChat, ({ actor, input }) => leaveChat(ctx, actor, input.chatId));
  route(app, ctx, api.listMembers, async ({ actor, input }) => ({ members: await listMembers(ctx, actor, input.chatId) }));
  route(app, ctx, api.addMembers, ({ actor, input }) => addMembers(ctx, actor, input));
  route(app, ctx, api.listChatInvitations, async ({ actor }) => ({ invitations: await invitations.listChatInvitations(ctx, actor) }));
  route(app, ctx, api.acceptChatInvitation, ({ actor, input }) => invitations.acceptChatInvitation(ctx, actor, input.chatId));
  route(app, ctx, api.declineChatInvitation, ({ actor, input }) => invitations.declineChatInvitation(ctx, actor, input.chatId));
  route(app, ctx, api.removeMember, ({ actor, input }) => removeMember(ctx, actor, input));
  route(app, ctx, api.setMemberRole, ({ actor, input }) => setMemberRole(ctx, actor, input));
  route(app, ctx, api.transferOwnership, ({ actor, input }) => transferOwnership(ctx, actor, input));

  route(app, ctx, api.sendMessage, ({ actor, input }) => sendMessage(ctx, actor, input));
  route(app, ctx, api.listMessages, ({ actor, input }) => messages.listMessages(ctx, actor, input));
  route(app, ctx, api.searchMessages, ({ actor, input }) => searchMessages(ctx, actor, input));
  route(app, ctx, api.addReaction, ({ actor, input }) => addReaction(ctx, actor, input));
  route(app, ctx, api.removeReaction, ({ actor, input }) => removeReaction(ctx, actor, input));
  route(app, ctx, api.pinMessage, ({ actor, input }) => pinMessage(ctx, actor, input));
  route(app, ctx, api.unpinMessage, ({ actor, input }) => unpinMessage(ctx, actor, input));
  route(app, ctx, api.listPins, ({ actor, input }) => listPins(ctx, actor, input));
  route(app, ctx, api.editMessage, ({ actor, input }) => messages.editMessage(ctx, actor, input));
  route(app, ctx, api.deleteMessage, ({ actor, input }) => messages.deleteMessage(ctx, actor, input));
  route(app, ctx, api.markRead, ({ actor, input }) => markRead(ctx, actor, input));

  route(app, ctx, api.getChanges, ({ actor, input }) => getChanges(ctx, actor, input));
  route(app, ctx, api.getPresence, async ({ actor, input }) => ({
    presence: await withinReadLimits(ctx, actor, () => ctx.presence.get(actor, input.userIds)),
  }));
}
