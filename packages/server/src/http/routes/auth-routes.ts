import type { FastifyInstance } from 'fastify';
import { api } from '@parley/protocol';
import type { AppContext } from '../../context.ts';
import * as accounts from '../../modules/accounts/accounts.ts';
import * as sessions from '../../modules/sessions/sessions.ts';
import { deviceOf, route } from '../app.ts';

export function authRoutes(app: FastifyInstance, ctx: AppContext): void {
  route(app, ctx, api.register, ({ input }) => accounts.register(ctx, ctx.hooks, input));
  route(app, ctx, api.login, ({ input, req }) => sessions.login(ctx, input, deviceOf(req)));
  route(app, ctx, api.refreshSession, ({ input, req }) => sessions.refresh(ctx, input.refreshToken, deviceOf(req)));
  route(app, ctx, api.logout, ({ actor }) => sessions.logout(ctx, actor));
  route(app, ctx, api.getCurrentSession, ({ actor }) => sessions.getCurrentSession(ctx, actor));
  route(app, ctx, api.listSessions, async ({ actor }) => ({ sessions: await sessions.listSessions(ctx, actor) }));
  route(app, ctx, api.terminateSession, ({ actor, input }) => sessions.terminateSession(ctx, actor, input.sessionId));
  route(app, ctx, api.terminateOtherSessions, async ({ actor }) => ({ terminated: await sessions.terminateOtherSessions(ctx, actor) }));
}
