import { buildConfig, ConfigError, type Config } from './config/config.ts';
import { readEnv } from './config/env.ts';
import { startServer } from './server.ts';

/** The config from the environment; a bad one is reported on stderr and ends the process with 2. */
export function configOrExit(): Readonly<Config> {
  try {
    return buildConfig(readEnv());
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}

/** The process entry for `parley serve`: the only place that handles signals and exits. */
export async function serve(): Promise<void> {
  const config = configOrExit();
  const server = await startServer(config);
  process.stdout.write(`Parley is running at ${server.url} (store: ${server.ctx.db.dialect})\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.ctx.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (err) => {
        server.ctx.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
