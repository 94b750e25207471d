import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_PREFIX } from './constants.ts';

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

export function setSecurityHeaders(req: FastifyRequest, reply: FastifyReply): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
  if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', API_CSP);
  reply.header('x-request-id', req.id);
  // API answers are not cached, except where a route says otherwise (file downloads).
  if (req.url.startsWith(API_PREFIX) && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
}
