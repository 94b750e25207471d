import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../modules/app-context.ts';
import { OPENAPI_PATH } from '../constants.ts';

/** Liveness, readiness, metrics and the OpenAPI document. */
export function opsRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const [store, bus] = await Promise.all([ctx.db.ping(), ctx.bus.ping()]);
    const ok = store && bus;
    reply.status(ok ? 200 : 503);
    return { status: ok ? 'ready' : 'unavailable', store: store ? 'up' : 'down', bus: bus ? 'up' : 'down', node: ctx.nodeId };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  app.get(OPENAPI_PATH, async () => app.swagger());
}
