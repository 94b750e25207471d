import type { FastifyInstance } from 'fastify';
import { api } from '@parley/protocol';
import { deviceOf } from '../../lib/credentials.ts';
import * as accounts from '../../modules/accounts/accounts.ts';
import type { AppContext } from '../../modules/app-context.ts';
import { login, refresh } from '../../modules/sessions/login.ts';
import * as sessions from '../../modules/sessions/sessions.ts';
import { route } from '../route.ts';

export function authRoutes(app: FastifyInstance, ctx: AppContext): void {
  route(app, ctx, api.register, ({ input, req }) => accounts.register(ctx, input, deviceOf(req)));
  route(app, ctx, api.login, ({ input, req }) => login(ctx, input, deviceOf(req)));
  route(app, ctx, api.refreshSession, ({ input, req }) => refresh(ctx, input.refreshToken, deviceOf(req)));
  route(app, ctx, api.logout, ({ actor }) => sessions.logout(ctx, actor));
  route(app, ctx, api.getCurrentSession, ({ actor }) => sessions.getCurrentSession(ctx, actor));
  route(app, ctx, api.listSessions, async ({ actor }) => ({ sessions: await sessions.listSessions(ctx, actor) }));
  route(app, ctx, api.terminateSession, ({ actor, input }) => sessions.terminateSession(ctx, actor, input.sessionId));
  route(app, ctx, api.terminateOtherSessions, async ({ actor }) => ({ terminated: await sessions.terminateOtherSessions(ctx, actor) }));
}
