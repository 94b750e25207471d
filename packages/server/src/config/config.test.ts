import { describe, expect, it } from 'vitest';
import { buildConfig, ConfigError } from './config.ts';

function problems(raw: Parameters<typeof buildConfig>[0]): string {
  try {
    buildConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('buildConfig()', () => {
  it('buildConfig() gives the documented defaults for an empty environment', () => {
    const config = buildConfig({});
    expect(config.http).toEqual({ port: 8080, host: '127.0.0.1', trustProxy: false, requestTimeoutMs: 30_000 });
    expect(config.db.kind).toBe('sqlite');
    expect(config.limits).toMatchObject({
      messageLength: 4096,
      groupMembers: 20,
      chatsPerUser: 500,
      messages: { points: 30, seconds: 10 },
      login: { points: 10, seconds: 60 },
      reads: { points: 60, seconds: 10 },
      readsInFlight: 4,
      writes: { points: 60, seconds: 10 },
      failedLogins: { points: 30, seconds: 600 },
      passwordChecks: { points: 5, seconds: 600 },
      failedRegistrations: { points: 10, seconds: 600 },
      exports: { points: 3, seconds: 3600 },
    });
    expect(config.sessions.accessTtlMs).toBe(900_000);
    expect(config.redisUrl).toBeNull();
  });

  it('buildConfig() returns a frozen object', () => {
    expect(Object.isFrozen(buildConfig({}))).toBe(true);
  });

  it('buildConfig() reads integers, seconds as milliseconds and booleans', () => {
    const config = buildConfig({ PORT: '9000', PARLEY_ACCESS_TOKEN_TTL: '60', PARLEY_TRUST_PROXY: 'yes', PARLEY_WS_HEARTBEAT: '5' });
    expect(config.http.port).toBe(9000);
    expect(config.sessions.accessTtlMs).toBe(60_000);
    expect(config.http.trustProxy).toBe(true);
    expect(config.ws.heartbeatMs).toBe(5000);
  });

  it('buildConfig() chooses PostgreSQL for a postgres:// DATABASE_URL', () => {
    expect(buildConfig({ DATABASE_URL: 'postgres://u@h/db' }).db).toEqual({ kind: 'postgres', url: 'postgres://u@h/db', statementTimeoutMs: 10_000 });
  });

  it('buildConfig() rejects an integer out of range, naming the variable and the value', () => {
    expect(problems({ PORT: '70000' })).toContain('PORT must be an integer from 0 to 65535 (got "70000")');
  });

  it('buildConfig() rejects a number that is not a whole number', () => {
    expect(problems({ PARLEY_MAX_GROUP_MEMBERS: '2.5' })).toContain('PARLEY_MAX_GROUP_MEMBERS');
  });

  it('parseRate() rejects a rate not shaped like 30/10s', () => {
    expect(problems({ PARLEY_MESSAGE_RATE: '30 per 10s' })).toContain('PARLEY_MESSAGE_RATE must look like "30/10s"');
    expect(problems({ PARLEY_MESSAGE_RATE: '0/10s' })).toContain('PARLEY_MESSAGE_RATE');
  });

  it('parseRate() reads points per seconds', () => {
    expect(buildConfig({ PARLEY_MESSAGE_RATE: '5/2s' }).limits.messages).toEqual({ points: 5, seconds: 2 });
  });

  it('buildConfig() reports every problem at once', () => {
    const message = problems({ PORT: 'x', LOG_LEVEL: 'loud', REDIS_URL: 'http://r', PARLEY_TRUST_PROXY: 'maybe' });
    for (const name of ['PORT', 'LOG_LEVEL', 'REDIS_URL', 'PARLEY_TRUST_PROXY']) expect(message).toContain(name);
  });

  it('buildConfig() rejects a DATABASE_URL of another scheme and a bad sync mode', () => {
    expect(problems({ DATABASE_URL: 'mysql://h/db' })).toContain('DATABASE_URL must be a postgres:// URL');
    expect(problems({ PARLEY_SYNC_MODE: 'off' })).toContain('PARLEY_SYNC_MODE must be normal or full');
  });

  it('PARLEY_E2EE is off unless on, and refuses anything else', () => {
    expect(buildConfig({}).e2ee).toBe(false);
    expect(buildConfig({ PARLEY_E2EE: 'on' }).e2ee).toBe(true);
    expect(buildConfig({ PARLEY_E2EE: 'off' }).e2ee).toBe(false);
    expect(problems({ PARLEY_E2EE: 'true' })).toContain('PARLEY_E2EE must be on or off (got "true")');
  });

  it('buildConfig() rejects a node id with a space', () => {
    expect(problems({ PARLEY_NODE_ID: 'node one' })).toContain('PARLEY_NODE_ID');
    expect(buildConfig({ PARLEY_NODE_ID: 'node-1.a' }).nodeId).toBe('node-1.a');
  });

  it("PARLEY_TRUST_PROXY takes true, false, or the proxies' addresses and CIDR ranges", () => {
    expect(buildConfig({ PARLEY_TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
    expect(buildConfig({ PARLEY_TRUST_PROXY: 'no' }).http.trustProxy).toBe(false);
    expect(buildConfig({ PARLEY_TRUST_PROXY: '10.0.0.5, 192.168.0.0/16,::1,fd00::/8,loopback' }).http.trustProxy).toEqual([
      '10.0.0.5',
      '192.168.0.0/16',
      '::1',
      'fd00::/8',
      'loopback',
    ]);
  });

  it('PARLEY_TRUST_PROXY refuses what is neither an address nor a range, naming it', () => {
    expect(problems({ PARLEY_TRUST_PROXY: '10.0.0.5,nginx' })).toMatch(/PARLEY_TRUST_PROXY .*"nginx"/);
    expect(problems({ PARLEY_TRUST_PROXY: '10.0.0.0/33' })).toMatch(/PARLEY_TRUST_PROXY/);
    expect(problems({ PARLEY_TRUST_PROXY: '10.0.0.0/8/1' })).toMatch(/PARLEY_TRUST_PROXY/);
  });

  it('PARLEY_BLOB_STORE is local by default and s3 with a bucket; the secret key never shows in JSON', () => {
    expect(buildConfig({}).files.store).toEqual({ kind: 'local' });
    const config = buildConfig({
      PARLEY_BLOB_STORE: 's3',
      PARLEY_S3_ENDPOINT: 'http://127.0.0.1:8899/',
      PARLEY_S3_BUCKET: 'parley-files',
      PARLEY_S3_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      PARLEY_S3_SECRET_ACCESS_KEY: 'very-secret-key',
    });
    expect(config.files.store).toMatchObject({
      kind: 's3',
      endpoint: 'http://127.0.0.1:8899',
      bucket: 'parley-files',
      region: 'us-east-1',
      accessKeyId: 'AKIDEXAMPLE',
    });
    expect(config.files.store.kind === 's3' && config.files.store.secretAccessKey).toBe('very-secret-key');
    expect(JSON.stringify(config)).not.toContain('very-secret-key');
    // No endpoint and no keys: AWS itself, with the SDK's default credential chain.
    expect(buildConfig({ PARLEY_BLOB_STORE: 's3', PARLEY_S3_BUCKET: 'b.files', PARLEY_S3_REGION: 'eu-west-3' }).files.store).toMatchObject({
      endpoint: null,
      region: 'eu-west-3',
      accessKeyId: null,
    });
  });

  it('reports every S3 problem at once', () => {
    const message = problems({
      PARLEY_BLOB_STORE: 's3',
      PARLEY_S3_ENDPOINT: 'ftp://user:pw@host',
      PARLEY_S3_REGION: 'Mars 1',
      PARLEY_S3_ACCESS_KEY_ID: 'AKID',
      PARLEY_MAX_FILE_SIZE: 'big',
    });
    for (const part of ['PARLEY_S3_ENDPOINT', 'PARLEY_S3_BUCKET must be set', 'PARLEY_S3_REGION', 'must be set together', 'PARLEY_MAX_FILE_SIZE'])
      expect(message).toContain(part);
    expect(message).not.toContain('user:pw');
    expect(problems({ PARLEY_BLOB_STORE: 'gcs' })).toContain('PARLEY_BLOB_STORE must be local or s3');
    expect(problems({ PARLEY_S3_BUCKET: 'b' })).toContain('PARLEY_S3_BUCKET is set but PARLEY_BLOB_STORE is not s3');
  });

  it('calls: no ICE servers by default; TURN URLs need the secret, which never shows in JSON', () => {
    expect(buildConfig({}).calls).toEqual({ stunUrls: [], turnUrls: [], turnTtlMs: 86_400_000, ringMs: 45_000, graceMs: 30_000 });
    const config = buildConfig({
      PARLEY_STUN_URLS: 'stun:turn.example.net:3478',
      PARLEY_TURN_URLS: 'turn:turn.example.net:3478?transport=udp, turns:turn.example.net:443?transport=tcp',
      PARLEY_TURN_SECRET: 'turn-shared-secret',
      PARLEY_TURN_TTL_SECONDS: '3600',
      PARLEY_CALL_RING_SECONDS: '30',
    });
    expect(config.calls).toMatchObject({
      stunUrls: ['stun:turn.example.net:3478'],
      turnUrls: ['turn:turn.example.net:3478?transport=udp', 'turns:turn.example.net:443?transport=tcp'],
      turnTtlMs: 3_600_000,
      ringMs: 30_000,
    });
    expect(config.calls.turnSecret).toBe('turn-shared-secret');
    expect(JSON.stringify(config)).not.toContain('turn-shared-secret');
    const message = problems({ PARLEY_TURN_URLS: 'turn:a:3478,http://b', PARLEY_STUN_URLS: 'turn:c', PARLEY_CALL_GRACE_SECONDS: '0' });
    for (const part of [
      'PARLEY_TURN_URLS must be turn: or turns: URLs',
      '"http://b"',
      'PARLEY_STUN_URLS must be stun:',
      'PARLEY_TURN_SECRET must be set',
      'PARLEY_CALL_GRACE_SECONDS',
    ])
      expect(message).toContain(part);
    expect(problems({ PARLEY_TURN_SECRET: 's' })).toContain('PARLEY_TURN_SECRET is set but PARLEY_TURN_URLS is not');
  });
});
