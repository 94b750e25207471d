import type { FastifyInstance } from 'fastify';
import { api } from '@parley/protocol';
import type { AppContext } from '../../modules/app-context.ts';
import * as commits from '../../modules/mls/commits.ts';
import { route } from '../route.ts';

/** End-to-end encryption: the delivery service of chats' MLS groups. */
export function mlsRoutes(app: FastifyInstance, ctx: AppContext): void {
  route(app, ctx, api.getGroupInfo, ({ actor, input }) => commits.getGroupInfo(ctx, actor, input.chatId));
  route(app, ctx, api.postCommit, ({ actor, input }) => commits.postCommit(ctx, actor, input));
  route(app, ctx, api.reportMlsFailure, ({ actor, input }) => commits.reportMlsFailure(ctx, actor, input));
}
