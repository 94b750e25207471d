import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { ErrorBody, type Endpoint, type InputOf, type OutputOf } from '@parley/protocol';
import type { AppContext } from '../modules/app-context.ts';
import type { Actor } from '../modules/services.ts';
import { AppError } from '../lib/errors.ts';
import { requireActor } from './auth.ts';
import { API_PREFIX, BODY_LIMIT, PUBLIC_BODY_LIMIT } from './constants.ts';

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
    ...(e.produces ? { produces: [e.produces] } : {}),
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
    // Without a session there is little to send: a small body, so a stranger's request costs little.
    bodyLimit: e.auth ? BODY_LIMIT : PUBLIC_BODY_LIMIT,
    // The token is checked before the body is read, parsed or validated: a request without a valid
    // one costs a token lookup, whatever its body.
    onRequest: async (req) => {
      req.operationId = e.id;
      if (e.auth) req.actor = await requireActor(ctx, req);
    },
    preValidation: async (req) => {
      if (!e.body && !isEmptyBody(req.body)) throw new AppError('invalid_request', 'This operation takes no request body');
      if (!e.query && !isEmptyBody(req.query)) throw new AppError('invalid_request', 'This operation takes no query parameters');
    },
    handler: async (req, reply) => {
      // Path parameters come last: neither a query parameter nor a body field can stand in for them.
      const input = { ...(req.query as object), ...(req.body as object), ...(req.params as object) } as InputOf<E>;
      // Unauthenticated endpoints never read the actor (see HandlerArgs).
      const out = await handler({ input, actor: req.actor as Actor, req, reply });
      reply.status(status);
      return status === 204 ? reply.send() : out;
    },
  });
}
