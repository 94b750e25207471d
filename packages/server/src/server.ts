import type { FastifyInstance } from 'fastify';
import type { Config } from './config/config.ts';
import { createContext, type AppContext, type ContextOverrides } from './context.ts';
import { buildApp } from './http/app.ts';
import { authRoutes } from './http/routes/auth-routes.ts';
import { accountRoutes } from './http/routes/account-routes.ts';
import { opsRoutes } from './http/routes/ops-routes.ts';
import { chatRoutes } from './http/routes/chat-routes.ts';
import { deviceRoutes } from './http/routes/device-routes.ts';
import { mlsRoutes } from './http/routes/mls-routes.ts';
import { pushRoutes } from './http/routes/push-routes.ts';
import { fileRoutes } from './http/routes/file-routes.ts';
import { userdataRoutes } from './http/routes/userdata-routes.ts';
import { Gateway } from './gateway/gateway.ts';
import { wsRoute } from './gateway/ws-route.ts';
import { scheduleCleanup } from './modules/cleanup/cleanup.ts';

/** How long requests under way may take to finish once shutdown has begun. */
export const SHUTDOWN_GRACE_MS = 5000;

export interface RunningServer {
  url: string;
  port: number;
  ctx: AppContext;
  app: FastifyInstance;
  gateway: Gateway;
  /** Stops accepting, closes sockets with 1001, lets writes finish, then closes the store. */
  close(): Promise<void>;
}

export async function startServer(config: Readonly<Config>, overrides: ContextOverrides = {}): Promise<RunningServer> {
  const ctx = await createContext(config, overrides);
  try {
    const applied = await ctx.db.migrate();
    if (applied.length > 0) ctx.log.info({ migrations: applied }, 'migrations applied');
    const app = buildApp(ctx);
    const gateway = new Gateway(ctx);
    app.register(async (scoped) => {
      await wsRoute(scoped, ctx, gateway);
      opsRoutes(scoped, ctx);
      authRoutes(scoped, ctx);
      accountRoutes(scoped, ctx);
      chatRoutes(scoped, ctx);
      deviceRoutes(scoped, ctx);
      mlsRoutes(scoped, ctx);
      pushRoutes(scoped, ctx);
      userdataRoutes(scoped, ctx);
      await fileRoutes(scoped, ctx);
    });
    await app.listen({ port: config.http.port, host: config.http.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.http.port;
    const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
    const url = `http://${host}:${port}`;
    ctx.log.info({ url, store: ctx.db.dialect }, 'parley listening');
    const cleanup = scheduleCleanup(ctx, config.cleanupIntervalMs);
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      ctx,
      app,
      gateway,
      close() {
        closing ??= (async () => {
          // Requests under way get a grace period to finish; past it, every connection is cut, including
          // ones that were opened but never sent a request (closing idle ones does not reach those).
          const cut = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
          await app.close();
          clearTimeout(cut);
          gateway.close();
          await cleanup.stop();
          await ctx.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await ctx.close();
    throw err;
  }
}
