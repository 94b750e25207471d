import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { ErrorBody, type Endpoint, type InputOf, type OutputOf } from '@parley/protocol';
import type { AppContext } from '../modules/app-context.ts';
import type { Actor } from '../modules/services.ts';
import { AppError } from '../lib/errors.ts';
import { requireActor } from './auth.ts';
import { API_PREFIX } from './constants.ts';

export interface HandlerArgs<E extends Endpoint> {
  input: InputOf<E>;
  /** The signed-in actor; only authenticated endpoints may use it. */
  actor: Actor;
  req: FastifyRequest;
  reply: FastifyReply;
}

function isEmptyBody(body: unknown): boolean {
  return body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0);
}

/** Registers one endpoint from its descriptor: validation, auth, OpenAPI entry and error mapping. */
export function route<E extends Endpoint>(app: FastifyInstance, ctx: AppContext, e: E, handler: (args: HandlerArgs<E>) => Promise<OutputOf<E>>): void {
  const status = e.status ?? (e.response ? 200 : 204);
  const schema = {
    operationId: e.id,
    summary: e.summary,
    tags: [e.tag],
    ...(e.auth ? { security: [{ bearer: [] }] } : {}),
    ...(e.params ? { params: e.params } : {}),
    ...(e.query ? { querystring: e.query } : {}),
    ...(e.body ? { body: e.body } : {}),
    response: {
      [status]: e.response ?? { type: 'null', description: 'No content' },
      '4xx': { ...ErrorBody, description: `One of: ${e.errors.join(', ')}` },
    },
  } as FastifySchema;
  app.route({
    method: e.method,
    url: API_PREFIX + e.path,
    schema,
    preValidation: async (req) => {
      req.operationId = e.id;
      if (!e.body && !isEmptyBody(req.body)) throw new AppError('invalid_request', 'This operation takes no request body');
    },
    preHandler: async (req) => {
      if (e.auth) req.actor = await requireActor(ctx, req);
    },
    handler: async (req, reply) => {
      const input = { ...(req.params as object), ...(req.query as object), ...(req.body as object) } as InputOf<E>;
      // Unauthenticated endpoints never read the actor (see HandlerArgs).
      const out = await handler({ input, actor: req.actor as Actor, req, reply });
      reply.status(status);
      return status === 204 ? reply.send() : out;
    },
  });
}
