import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { ErrorBody, type Endpoint, type InputOf, type OutputOf } from '@parley/protocol';
import { AppError } from '../errors.ts';
import { toStoreError } from '../adapters/db/database.ts';
import type { AppContext } from '../context.ts';
import type { Actor } from '../services.ts';
import { authenticate } from '../modules/sessions/sessions.ts';
import { validatorCompiler } from './validation.ts';
import { newId } from '../modules/sessions/tokens.ts';
import { webRoutes } from './routes/web-routes.ts';

export const API_PREFIX = '/api/v1';
export const BODY_LIMIT = 1024 * 1024;
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
    operationId?: string;
  }
}

/** Headers on every response; the web client's pages get their own Content-Security-Policy. */
export const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), geolocation=(), microphone=(self)',
};
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

function setSecurityHeaders(req: FastifyRequest, reply: FastifyReply) {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
  if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', API_CSP);
  reply.header('x-request-id', req.id);
  if (req.url.startsWith(API_PREFIX)) reply.header('cache-control', 'no-store');
}

function sendError(reply: FastifyReply, err: AppError) {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.status(err.status).type('application/json').send({ error: { code: err.code, message: err.message } });
}

/** Turns whatever was thrown into the one error shape; unknown errors are logged and hidden. */
function toAppError(err: any, req: FastifyRequest): AppError {
  if (err instanceof AppError) return err;
  const stored = toStoreError(err);
  if (stored instanceof AppError) return stored;
  if (err?.validation) {
    const where = err.validationContext ?? 'request';
    const first = err.validation[0];
    const field = first?.instancePath ? first.instancePath.slice(1).replace(/\//g, '.') : '';
    const detail =
      first?.keyword === 'additionalProperties'
        ? `unknown field "${field ? `${field}.` : ''}${first.params.additionalProperty}"`
        : first?.keyword === 'required'
          ? `missing field "${field ? `${field}.` : ''}${first.params.missingProperty}"`
          : first?.keyword === 'type' && !field
            ? `must be a JSON ${first.params.type}`
            : `${field ? `"${field}" ` : ''}${first?.message ?? 'is invalid'}`;
    return new AppError('invalid_request', `Invalid ${where}: ${detail}`);
  }
  switch (err?.code) {
    case 'FST_ERR_BAD_URL':
      return new AppError('invalid_request', 'The URL is not validly encoded');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('invalid_request', 'A part of the URL is too long');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('body_too_large', `The request body is over the limit of ${BODY_LIMIT} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'The request body must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('invalid_json', 'The request body is empty but its type is application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('invalid_request', 'The Content-Length header does not match the body');
  }
  if (err instanceof SyntaxError || err?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new AppError('invalid_json', 'The request body is not valid JSON');
  }
  if (typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError('invalid_request', 'The request is malformed');
  }
  req.log.error({ err }, 'request failed');
  return new AppError('internal_error', 'Something went wrong on the server');
}

export function buildApp(ctx: AppContext): FastifyInstance {
  const app = Fastify({
    loggerInstance: ctx.log,
    bodyLimit: BODY_LIMIT,
    trustProxy: ctx.config.http.trustProxy,
    genReqId: () => newId(),
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    // Errors Fastify raises before routing (a badly encoded URL, an over-long path segment) get the one error shape too.
    // These replies skip the onSend hook, so they get their headers here.
    frameworkErrors: (err, req, reply) => {
      setSecurityHeaders(req, reply);
      return sendError(reply, toAppError(err, req));
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  // JSON only: without this, a text/plain body would reach validation as a string instead of getting a 415.
  app.removeContentTypeParser('text/plain');

  app.addHook('onSend', async (req, reply, payload) => {
    setSecurityHeaders(req, reply);
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const operation = req.operationId ?? 'other';
    ctx.metrics.httpRequests.inc({ operation, status: String(reply.statusCode) });
    ctx.metrics.httpDuration.observe({ operation }, reply.elapsedTime / 1000);
  });

  // The OpenAPI document describes the API under /api/v1: the probes and metrics outside it, and the
  // document itself, stay out of it.
  app.addHook('onRoute', (options) => {
    if (!options.url.startsWith(`${API_PREFIX}/`) || options.url === OPENAPI_PATH) {
      options.schema = { ...(options.schema ?? {}), hide: true } as typeof options.schema;
    }
  });

  app.setErrorHandler((err, req, reply) => sendError(reply, toAppError(err, req)));
  app.setNotFoundHandler((req, reply) => sendError(reply, new AppError('not_found', `No route for ${req.method} "${req.url.split('?')[0]}"`)));

  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Parley API', version: '1.0.0', description: 'The HTTP API of Parley, a self-hosted invite-only messenger' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  // The web client at /, with its own Content-Security-Policy (the API keeps the stricter one above).
  app.register(async (scoped) => webRoutes(scoped, ctx));
  return app;
}

export interface HandlerArgs<E extends Endpoint> {
  input: InputOf<E>;
  /** The signed-in actor; only authenticated endpoints may use it. */
  actor: Actor;
  req: FastifyRequest;
  reply: FastifyReply;
}

export function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer ([A-Za-z0-9_-]{10,200})$/.exec(header);
  return m?.[1];
}

export function deviceOf(req: FastifyRequest) {
  return { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512) };
}

/** Registers one endpoint from its descriptor: validation, auth, OpenAPI entry and error mapping. */
export function route<E extends Endpoint>(app: FastifyInstance, ctx: AppContext, e: E, handler: (args: HandlerArgs<E>) => Promise<OutputOf<E>>): void {
  const status = e.status ?? (e.response ? 200 : 204);
  const url = API_PREFIX + e.path;
  app.route({
    method: e.method,
    url,
    schema: {
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
    } as any,
    preValidation: async (req) => {
      req.operationId = e.id;
      if (!e.body && req.body !== undefined && req.body !== null && !(typeof req.body === 'object' && Object.keys(req.body as object).length === 0)) {
        throw new AppError('invalid_request', 'This operation takes no request body');
      }
    },
    preHandler: async (req) => {
      if (!e.auth) return;
      const token = bearerToken(req);
      if (!token) throw new AppError('unauthorized', 'Send the access token as "Authorization: Bearer <token>"');
      req.actor = await authenticate(ctx, token, deviceOf(req));
    },
    handler: async (req, reply) => {
      const input = { ...(req.params as object), ...(req.query as object), ...(req.body as object) } as InputOf<E>;
      const out = await handler({ input, actor: req.actor as any, req, reply });
      reply.status(status);
      return status === 204 ? reply.send() : out;
    },
  });
}
