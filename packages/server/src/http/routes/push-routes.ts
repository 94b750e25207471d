import type { FastifyInstance } from 'fastify';
import { api } from '@parley/protocol';
import type { AppContext } from '../../modules/app-context.ts';
import * as push from '../../modules/push/subscriptions.ts';
import { route } from '../route.ts';

/** Web push: the VAPID key and this session's subscriptions. */
export function pushRoutes(app: FastifyInstance, ctx: AppContext): void {
  route(app, ctx, api.getPushConfig, () => push.getPushConfig(ctx.push));
  route(app, ctx, api.subscribePush, ({ actor, input }) => push.subscribePush(ctx, actor, input));
  route(app, ctx, api.unsubscribePush, ({ actor, input }) => push.unsubscribePush(ctx, actor, input));
}
