import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { AppContext } from '../../modules/app-context.ts';
import { AppError } from '../../lib/errors.ts';
import { API_PREFIX, MAX_PARAM_LENGTH } from '../constants.ts';

/** Where `npm run build` puts the web client. */
export const WEB_DIST = fileURLToPath(new URL('../../../../web/dist/', import.meta.url));

const HOST_RE = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The page's policy: only this origin's scripts, styles and sockets; no inline code, no plugins,
 * no framing. The socket sources are named explicitly because older browsers do not count
 * ws:/wss: as 'self'.
 */
export function pageCsp(host: string | undefined): string {
  const sockets = host && HOST_RE.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    // Downloaded videos and voice notes play from object URLs.
    "media-src 'self' blob:",
    "font-src 'self'",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "manifest-src 'self'",
    "worker-src 'self'",
  ].join('; ');
}

function wantsHtml(req: FastifyRequest): boolean {
  return /\btext\/html\b/.test(String(req.headers.accept ?? ''));
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Serves the built web client at /. Paths the client routes itself fall back to index.html, but
 * only for browser navigations (Accept: text/html): API clients asking for an unknown path still
 * get the JSON 404, and nothing under /api is ever answered with the page.
 */
export async function webRoutes(app: FastifyInstance, ctx: AppContext, options: { root?: string } = {}): Promise<void> {
  const root = path.resolve(options.root ?? WEB_DIST);
  if (!existsSync(path.join(root, 'index.html'))) {
    ctx.log.warn({ dir: root }, 'The web client is not built, so only the API is served: run "npm run build" and restart');
    return;
  }
  await app.register(fastifyStatic, { root, serve: false });

  app.get('/*', async (req, reply) => {
    const url = req.url.split('?')[0]!;
    // The router falls back to this catch-all when a URL fails its own checks, so they are repeated here.
    let rel: string;
    try {
      rel = decodeURIComponent(url);
    } catch {
      throw new AppError('invalid_request', 'The URL is not validly encoded');
    }
    if (url.split('/').some((part) => part.length > MAX_PARAM_LENGTH)) throw new AppError('invalid_request', 'A part of the URL is too long');
    const notFound = new AppError('not_found', `No route for ${req.method} "${url}"`);
    if (url === API_PREFIX || url.startsWith('/api/')) throw notFound;
    const file = path.join(root, path.normalize(rel));
    reply.header('content-security-policy', pageCsp(req.headers.host));
    if (rel !== '/' && file.startsWith(root + path.sep) && !rel.includes('\0') && isFile(file)) {
      // Built assets have content hashes in their names, so they never change.
      reply.header('cache-control', rel.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply.sendFile(path.relative(root, file), { cacheControl: false });
    }
    if (rel !== '/' && !wantsHtml(req)) throw notFound;
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', { cacheControl: false });
  });
}
