import { pino, type DestinationStream, type Logger } from 'pino';

/** Paths that must never reach a log line. */
export const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  'password',
  'token',
  'accessToken',
  'refreshToken',
];

/**
 * The process logger: JSON lines on stdout by default. The CLI passes fd 2 to keep stdout for its
 * output; any other destination (a file, a stream) may be given instead.
 */
export function createLogger(level: string, destination: 1 | 2 | DestinationStream = 1): Logger {
  const out = typeof destination === 'number' ? pino.destination({ fd: destination, sync: destination === 2 }) : destination;
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } }, out);
}
export type { Logger };
