import type { FastifyInstance } from 'fastify';
import { api } from '@parley/protocol';
import type { AppContext } from '../../context.ts';
import * as chats from '../../modules/chats/chats.ts';
import * as messages from '../../modules/messages/messages.ts';
import { sendMessage } from '../../modules/messages/send.ts';
import { getChanges } from '../../modules/sync/sync.ts';
import { route } from '../app.ts';

export function chatRoutes(app: FastifyInstance, ctx: AppContext): void {
  route(app, ctx, api.listChats, async ({ actor }) => ({ chats: await chats.listChats(ctx, actor) }));
  route(app, ctx, api.getChat, ({ actor, input }) => chats.getChat(ctx, actor, input.chatId));
  route(app, ctx, api.createPrivateChat, ({ actor, input }) => chats.createPrivateChat(ctx, actor, input.userId));
  route(app, ctx, api.createGroup, ({ actor, input }) => chats.createGroup(ctx, actor, input));
  route(app, ctx, api.createChannel, ({ actor, input }) => chats.createChannel(ctx, actor, input));
  route(app, ctx, api.updateChat, ({ actor, input }) => chats.updateChat(ctx, actor, input.chatId, input));
  route(app, ctx, api.deleteChat, ({ actor, input }) => chats.deleteChat(ctx, actor, input.chatId, input.forEveryone));
  route(app, ctx, api.leaveChat, ({ actor, input }) => chats.leaveChat(ctx, actor, input.chatId));
  route(app, ctx, api.listMembers, async ({ actor, input }) => ({ members: await chats.listMembers(ctx, actor, input.chatId) }));
  route(app, ctx, api.addMembers, async ({ actor, input }) => ({ members: await chats.addMembers(ctx, actor, input.chatId, input.userIds) }));
  route(app, ctx, api.removeMember, ({ actor, input }) => chats.removeMember(ctx, actor, input.chatId, input.userId));
  route(app, ctx, api.setMemberRole, ({ actor, input }) => chats.setMemberRole(ctx, actor, input.chatId, input.userId, input.role));
  route(app, ctx, api.transferOwnership, ({ actor, input }) => chats.transferOwnership(ctx, actor, input.chatId, input.userId));

  route(app, ctx, api.sendMessage, ({ actor, input }) => sendMessage(ctx, actor, input));
  route(app, ctx, api.listMessages, ({ actor, input }) => messages.listMessages(ctx, actor, input));
  route(app, ctx, api.editMessage, ({ actor, input }) => messages.editMessage(ctx, actor, input));
  route(app, ctx, api.deleteMessage, ({ actor, input }) => messages.deleteMessage(ctx, actor, input));
  route(app, ctx, api.markRead, ({ actor, input }) => messages.markRead(ctx, actor, input));

  route(app, ctx, api.getChanges, ({ actor, input }) => getChanges(ctx, actor, input));
  route(app, ctx, api.getPresence, async ({ actor, input }) => ({ presence: await ctx.presence.get(actor, input.userIds) }));
}
