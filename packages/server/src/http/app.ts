import Fastify, { LogController, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { completeOpenApi } from './openapi.ts';
import type { AppContext } from '../modules/app-context.ts';
import { AppError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { API_PREFIX, BODY_LIMIT, MAX_PARAM_LENGTH, OPENAPI_PATH } from './constants.ts';
import { sendError, toAppError } from './errors.ts';
import { webRoutes } from './routes/web-routes.ts';
import { setSecurityHeaders } from './security-headers.ts';
import { validatorCompiler } from './validation.ts';

/** The Fastify app with the cross-cutting parts: errors, headers, metrics, OpenAPI, the web client. */
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
    // A request whose headers and body have not all arrived in time is cut: slow clients cannot hold
    // connections open (behind nginx its client_body_timeout does the same). Node checks every second.
    requestTimeout: ctx.config.http.requestTimeoutMs,
    http: { connectionsCheckingInterval: 1000, headersTimeout: Math.min(10_000, ctx.config.http.requestTimeoutMs) },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  // JSON only: without this, a text/plain body would reach validation as a string instead of getting a 415.
  app.removeContentTypeParser('text/plain');
  // An operation that takes no body (logout) accepts an empty one labelled JSON, as many HTTP
  // wrappers always send that header; an operation that takes a body still refuses an empty one.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '' && !req.routeOptions.schema?.body) return done(null, undefined);
    parseJson(req, body as string, done);
  });

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
    // The document is built for OpenAPI 3.1 only (the object has no Swagger 2 form here).
    transformObject: (doc) => completeOpenApi((doc as { openapiObject: Parameters<typeof completeOpenApi>[0] }).openapiObject) as never,
  });
  // The web client at /, with its own Content-Security-Policy (the API keeps the stricter one above).
  app.register(async (scoped) => webRoutes(scoped, ctx));
  return app;
}
