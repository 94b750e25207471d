import { hostname } from 'node:os';
import { InFlight } from './lib/in-flight.ts';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Config, RateSpec } from './config/config.ts';
import type { Bus } from './adapters/bus/bus.ts';
import { InProcessBus } from './adapters/bus/in-process-bus.ts';
import type { RedisBus } from './adapters/bus/redis-bus.ts';
import { Database } from './adapters/db/database.ts';
import { openBlobStore } from './adapters/blobs/open-blob-store.ts';
import type { PresenceDirectory } from './adapters/presence/presence-directory.ts';
import { newId } from './lib/ids.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { chatAccountHooks } from './modules/chats/account-hooks.ts';
import { storedFileBytes } from './modules/files/files.store.ts';
import { PresenceTracker } from './modules/presence/presence.ts';
import { PushService } from './modules/push/push-service.ts';
import type { AppContext } from './modules/app-context.ts';
import type { Services } from './modules/services.ts';
import { TokenCache } from './modules/sessions/token-cache.ts';

export type { AppContext } from './modules/app-context.ts';

export interface ContextOverrides {
  log?: Logger;
  bus?: Bus;
  now?: () => number;
}

/** Shared limits when Redis is there (a user spread over nodes gets one budget), memory otherwise. */
function rateLimiter(redis: RedisBus['client'] | undefined, keyPrefix: string, spec: RateSpec): RateLimiterAbstract {
  const memory = new RateLimiterMemory({ keyPrefix, points: spec.points, duration: spec.seconds });
  if (!redis) return memory;
  // While Redis is unreachable each node falls back to its own count rather than refusing everyone.
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `parley:rl:${keyPrefix}`,
    points: spec.points,
    duration: spec.seconds,
    rejectIfRedisNotReady: true,
    insuranceLimiter: memory,
  });
}

/** The one place implementations are chosen from config; tests override a few. */
export async function createContext(config: Readonly<Config>, overrides: ContextOverrides = {}): Promise<AppContext> {
  const nodeId = config.nodeId ?? `${hostname()}-${process.pid}-${newId().slice(0, 6)}`;
  const log = (overrides.log ?? createLogger(config.logLevel)).child({ node: nodeId });

  // What other nodes know this process by: unique even if two nodes are given the same name by
  // mistake, or a node restarts under its old name while its predecessor's presence entries live on.
  const instanceId = `${nodeId}#${newId().slice(0, 8)}`;
  const db = await Database.open(config.db, { warn: (message) => log.warn(message) });
  const metrics = createMetrics(nodeId, { storedFileBytes: () => storedFileBytes(db.kysely) });
  db.onGroupCommit = (units) => metrics.groupCommitUnits.observe(units);
  let bus: Bus;
  let redisBus: RedisBus | undefined;
  if (overrides.bus) bus = overrides.bus;
  else if (config.redisUrl) {
    // Loaded only when configured: the single-node default never touches the Redis client.
    const { RedisBus } = await import('./adapters/bus/redis-bus.ts');
    bus = redisBus = new RedisBus({
      url: config.redisUrl,
      nodeId: instanceId,
      log,
      onState: (up) => metrics.busUp.set(up ? 1 : 0),
      onPublishFailed: () => metrics.busPublishFailures.inc(),
      onReceived: (topic, bytes) => {
        metrics.busReceived.inc({ topic });
        metrics.busReceivedBytes.inc({ topic }, bytes);
      },
    });
  } else bus = new InProcessBus();
  if (!redisBus) metrics.busUp.set(1);
  metrics.nodeInfo.set({ store: db.dialect, bus: redisBus ? 'redis' : overrides.bus ? 'custom' : 'in-process' }, 1);
  let cluster: PresenceDirectory | undefined;
  if (redisBus) {
    const { RedisPresenceStore } = await import('./adapters/presence/redis-presence-store.ts');
    cluster = new RedisPresenceStore(redisBus.client, { nodeId: instanceId, ttlMs: config.presenceTtlMs });
  }
  const blobs = await openBlobStore(config.files, { now: overrides.now });
  const tokens = new TokenCache(bus);
  const services: Services = {
    config,
    db,
    bus,
    blobs,
    log,
    tokens,
    limiters: {
      login: rateLimiter(redisBus?.client, 'login', config.limits.login),
      messages: rateLimiter(redisBus?.client, 'msg', config.limits.messages),
      reads: rateLimiter(redisBus?.client, 'read', config.limits.reads),
      readsInFlight: new InFlight(config.limits.readsInFlight),
      writes: rateLimiter(redisBus?.client, 'write', config.limits.writes),
      failedLogins: rateLimiter(redisBus?.client, 'loginfail', config.limits.failedLogins),
      passwordChecks: rateLimiter(redisBus?.client, 'pwcheck', config.limits.passwordChecks),
      failedRegistrations: rateLimiter(redisBus?.client, 'regfail', config.limits.failedRegistrations),
      exports: rateLimiter(redisBus?.client, 'export', config.limits.exports),
      uploadBytes: rateLimiter(redisBus?.client, 'upload', config.files.uploadBytes),
    },
    metrics,
    now: overrides.now ?? Date.now,
  };
  const presence = new PresenceTracker(services, { cluster, ttlMs: config.presenceTtlMs });
  const push = new PushService(services, { presence });
  return {
    ...services,
    hooks: chatAccountHooks({ e2ee: config.e2ee }),
    presence,
    push,
    nodeId,
    async close() {
      await push.close();
      await presence.close();
      tokens.close();
      await bus.close();
      await blobs.close();
      await db.close();
    },
  };
}
