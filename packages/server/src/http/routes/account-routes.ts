import type { FastifyInstance } from 'fastify';
import { api } from '@parley/protocol';
import type { AppContext } from '../../modules/app-context.ts';
import * as accounts from '../../modules/accounts/accounts.ts';
import * as invites from '../../modules/invites/invites.ts';
import { getLimits } from '../../modules/limits/limits.ts';
import { route } from '../route.ts';

export function accountRoutes(app: FastifyInstance, ctx: AppContext): void {
  route(app, ctx, api.getMe, ({ actor }) => accounts.getMe(ctx, actor));
  route(app, ctx, api.getLimits, async () => getLimits(ctx));
  route(app, ctx, api.updateMe, ({ actor, input }) => accounts.updateMe(ctx, actor, input));
  route(app, ctx, api.changePassword, ({ actor, input }) => accounts.changePassword(ctx, actor, input));
  route(app, ctx, api.deleteAccount, ({ actor, input }) => accounts.deleteAccount(ctx, actor, input));
  route(app, ctx, api.getUserByUsername, ({ input }) => accounts.getUserByUsername(ctx, input.username));
  route(app, ctx, api.getUser, ({ input }) => accounts.getUser(ctx, input.userId));
  route(app, ctx, api.searchUsers, ({ actor, input }) => accounts.searchUsers(ctx, actor, input));
  route(app, ctx, api.createInvite, ({ actor, input }) => invites.createInvite(ctx, actor, input));
  route(app, ctx, api.listInvites, async ({ actor }) => ({ invites: await invites.listInvites(ctx, actor.userId) }));
  route(app, ctx, api.revokeInvite, ({ actor, input }) => invites.revokeInvite(ctx, actor, input.inviteId));
}
