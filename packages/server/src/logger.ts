import { pino, type Logger } from 'pino';

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

/** The process logger: JSON lines on stdout (the CLI passes fd 2 to keep stdout for its output). */
export function createLogger(level: string, fd: 1 | 2 = 1): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { pid: process.pid } }, pino.destination({ fd, sync: fd === 2 }));
}
export type { Logger };
