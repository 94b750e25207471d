import { hostname } from 'node:os';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Config } from './config/config.ts';
import { Database } from './adapters/db/database.ts';
import type { Bus } from './adapters/bus/bus.ts';
import { InProcessBus } from './adapters/bus/in-process-bus.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { TokenCache } from './modules/sessions/token-cache.ts';
import type { AccountHooks } from './modules/accounts/accounts.ts';
import { chatAccountHooks } from './modules/chats/account-hooks.ts';
import type { Services } from './services.ts';
import { PresenceTracker } from './modules/presence/presence.ts';
import { newId } from './modules/sessions/tokens.ts';

/** Everything the HTTP layer, the gateway and jobs share, wired once from config. */
export interface AppContext extends Services {
  hooks: AccountHooks;
  presence: PresenceTracker;
  metrics: Metrics;
  nodeId: string;
  close(): Promise<void>;
}

export interface ContextOverrides {
  log?: Logger;
  bus?: Bus;
  now?: () => number;
}

export async function createContext(config: Readonly<Config>, overrides: ContextOverrides = {}): Promise<AppContext> {
  const nodeId = `${hostname()}-${process.pid}-${newId().slice(0, 8)}`;
  const log = overrides.log ?? createLogger(config.logLevel).child({ node: nodeId });
  const db = await Database.open(config.db);
  const bus = overrides.bus ?? new InProcessBus();
  const tokens = new TokenCache(bus);
  const limiters = {
    login: new RateLimiterMemory({ keyPrefix: 'login', points: config.limits.login.points, duration: config.limits.login.seconds }),
    messages: new RateLimiterMemory({ keyPrefix: 'msg', points: config.limits.messages.points, duration: config.limits.messages.seconds }),
  };
  const ctx: AppContext = {
    config,
    db,
    bus,
    log,
    tokens,
    limiters,
    now: overrides.now ?? Date.now,
    hooks: undefined as unknown as AccountHooks,
    presence: undefined as unknown as PresenceTracker,
    metrics: createMetrics(),
    nodeId,
    async close() {
      tokens.close();
      await bus.close();
      await db.close();
    },
  };
  ctx.hooks = chatAccountHooks(ctx);
  ctx.presence = new PresenceTracker(ctx);
  return ctx;
}
