import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../modules/app-context.ts';
import type { Actor } from '../modules/services.ts';
import { bearerToken, deviceOf } from '../lib/credentials.ts';
import { AppError } from '../lib/errors.ts';
import { authenticate } from '../modules/sessions/authenticate.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
    operationId?: string;
  }
}

/** Resolves the request's bearer token to its actor, or fails with 401. */
export async function requireActor(ctx: AppContext, req: FastifyRequest): Promise<Actor> {
  const token = bearerToken(req);
  if (!token) throw new AppError('unauthorized', 'Send the access token as "Authorization: Bearer <token>"');
  return authenticate(ctx, token, deviceOf(req));
}
