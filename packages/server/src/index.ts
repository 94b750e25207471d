export { startServer, type RunningServer } from './server.ts';
export { buildConfig } from './config/config.ts';
export { readEnv } from './config/env.ts';
