import { ParleyClient, type SessionTokens } from '@parley/sdk';
import { buildConfig, startServer, type RunningServer } from '@parley/server';
import { createInvite } from '@parley/server/invites';
import { freshStore, type RawEnv, type StoreKind, type TestStore } from './stores.ts';

/** What a test may swap in the server's context: a logger, a bus, a clock. */
export type ContextOverrides = NonNullable<Parameters<typeof startServer>[1]>;

export interface TestServer {
  server: RunningServer;
  url: string;
  store: TestStore;
  kind: StoreKind;
  client(options?: { userAgent?: string }): ParleyClient;
  /** An invite made the way the CLI makes it */
  invite(options?: { admin?: boolean; uses?: number; expiresInSeconds?: number | null }): Promise<string>;
  /** Registers a user and signs in one device */
  user(name: string, options?: { device?: string }): Promise<TestUser>;
  /** Registers several users at once, each with one device: `const [alice, bob] = await t.users('alice', 'bob')` */
  users<const Names extends readonly string[]>(...names: Names): Promise<{ [K in keyof Names]: TestUser }>;
  close(): Promise<void>;
}

export interface TestUser {
  id: string;
  username: string;
  password: string;
  client: ParleyClient;
  session: SessionTokens;
}

/** A real server on an ephemeral port over a fresh store; `close()` stops it and drops the store. */
export async function startTestServer(kind: StoreKind, env: RawEnv = {}, overrides: ContextOverrides = {}): Promise<TestServer> {
  const store = await freshStore(kind);
  // The log level is the tests' own (PARLEY_TEST_LOG), whatever the environment under test says.
  const config = buildConfig({ PORT: '0', HOST: '127.0.0.1', ...store.env, ...env, LOG_LEVEL: process.env.PARLEY_TEST_LOG ?? 'silent' });
  const server = await startServer(config, overrides);
  const t: TestServer = {
    server,
    url: server.url,
    store,
    kind,
    client: (options = {}) => new ParleyClient({ baseUrl: server.url, userAgent: options.userAgent ?? 'parley-tests' }),
    async invite(options = {}) {
      const invite = await createInvite(server.ctx, null, { admin: options.admin, maxUses: options.uses, expiresInSeconds: options.expiresInSeconds });
      return invite.code!;
    },
    async user(name, options = {}) {
      const client = t.client();
      const password = `pw-${name}-secret`;
      const me = await client.register({ inviteCode: await t.invite(), username: name, password, displayName: name[0]!.toUpperCase() + name.slice(1) });
      const session = await client.login({ username: name, password, deviceName: options.device ?? `${name}-device` });
      return { id: me.id, username: me.username, password, client, session };
    },
    async users<const Names extends readonly string[]>(...names: Names) {
      const users = await Promise.all(names.map((name) => t.user(name)));
      return users as { [K in keyof Names]: TestUser };
    },
    async close() {
      await server.close();
      await store.drop();
    },
  };
  return t;
}
