import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../../context.ts';
import { API_PREFIX } from '../app.ts';

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
  app.get(`${API_PREFIX}/openapi.json`, async () => app.swagger());
}
