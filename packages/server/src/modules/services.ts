import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { InFlight } from '../lib/in-flight.ts';
import type { Config } from '../config/config.ts';
import type { Database } from '../adapters/db/database.ts';
import type { Bus } from '../adapters/bus/bus.ts';
import type { BlobStore } from '../adapters/blobs/blob-store.ts';
import type { Logger } from '../logger.ts';
import type { TokenCache } from './sessions/token-cache.ts';
import type { Metrics } from '../metrics.ts';

/** What domain modules get: stores, bus, limits. Nothing about HTTP or WebSocket. */
export interface Services {
  config: Readonly<Config>;
  db: Database;
  bus: Bus;
  blobs: BlobStore;
  log: Logger;
  tokens: TokenCache;
  limiters: {
    login: RateLimiterAbstract;
    messages: RateLimiterAbstract;
    reads: RateLimiterAbstract;
    readsInFlight: InFlight;
    writes: RateLimiterAbstract;
    failedLogins: RateLimiterAbstract;
    passwordChecks: RateLimiterAbstract;
    failedRegistrations: RateLimiterAbstract;
    /** Data exports started, per user */
    exports: RateLimiterAbstract;
    /** Bytes of new uploads (points are bytes) */
    uploadBytes: RateLimiterAbstract;
  };
  metrics: Metrics;
  now(): number;
}

/** Who is making a request, once the access token is resolved. */
export interface Actor {
  userId: string;
  sessionId: string;
  isAdmin: boolean;
  ip: string;
  userAgent: string;
}
