import path from 'node:path';
import { isIP } from 'node:net';
import type { RawEnv } from './env.ts';

export interface RateSpec {
  points: number;
  seconds: number;
}

export interface Config {
  /** trustProxy: false, true (any sender), or the proxies' addresses and CIDR ranges whose X-Forwarded-For is believed. */
  http: {
    port: number;
    host: string;
    trustProxy: boolean | string[];
    /** A request whose headers and body have not all arrived after this long is cut (slow clients). */
    requestTimeoutMs: number;
  };
  db:
    | { kind: 'sqlite'; dataDir: string; file: string; synchronous: 'normal' | 'full' }
    /** statementTimeoutMs: PostgreSQL cancels a statement running longer, and the request gets a 503. */
    | { kind: 'postgres'; url: string; statementTimeoutMs: number };
  redisUrl: string | null;
  /** This node's name in logs, metrics and presence; a stable name (host, pod) when set, else generated */
  nodeId: string | null;
  /** How long a node's word that a user is online lasts without a heartbeat (a node that dies is forgotten after it) */
  presenceTtlMs: number;
  logLevel: string;
  sessions: { max: number; accessTtlMs: number; refreshTtlMs: number };
  limits: {
    invitesPerDay: number;
    login: RateSpec;
    messageLength: number;
    groupMembers: number;
    channelSubscribers: number;
    chatsPerUser: number;
    messages: RateSpec;
    /** Per user: sync, presence and history calls, and how many of them one node runs at once. */
    reads: RateSpec;
    readsInFlight: number;
    /** Per user: edits, deletes, renames, chat creation and member additions. */
    writes: RateSpec;
    /** Failed sign-ins from one address, whatever the usernames tried. */
    failedLogins: RateSpec;
    /** Wrong current passwords given by one user (changePassword, deleteAccount). */
    passwordChecks: RateSpec;
    /** Registrations refused from one address (bad invite codes), checked before any password is hashed. */
    failedRegistrations: RateSpec;
    /** Data exports (own or, for an admin, anyone's) one user may start per window: each reads all of an account's data. */
    exports: RateSpec;
  };
  /** Uploads and the files they become (docs/files.md). */
  files: {
    /** Where the local blob store keeps uploads (default PARLEY_DATA_DIR/blobs) */
    blobDir: string;
    /** Where blobs are stored: the local directory (one node, or a shared filesystem), or an S3 bucket */
    store: BlobStoreConfig;
    maxFileBytes: number;
    /** Bytes one user may declare in new uploads per window (a fixed window, in seconds) */
    uploadBytes: RateSpec;
    /** Uploads one user may have started and not finished */
    unfinishedPerUser: number;
    /** An upload not finished this long after it started is deleted */
    uploadExpiryMs: number;
    /** A finished file no message references is kept this long (for the send that will attach it) */
    unreferencedGraceMs: number;
  };
  cleanupIntervalMs: number;
  /**
   * PARLEY_E2EE=on: new private chats and saved messages are made end-to-end encrypted (the server refuses text in
   * them; a device's first commit makes their group). Chats made before keep their state; groups and channels stay plaintext.
   */
  e2ee: boolean;
  /** 1:1 calls (docs/voice.md): the ICE servers handed to clients and the call timers. */
  calls: {
    /** STUN URLs given as they are (no credentials) */
    stunUrls: string[];
    /** TURN URLs; each client gets TURN REST credentials for them, minted with `turn.secret` */
    turnUrls: string[];
    /** The secret shared with the TURN server (coturn's static-auth-secret). Not enumerable: no log or JSON of the config shows it. */
    readonly turnSecret: string | null;
    /** How long minted TURN credentials stay valid (at least the longest call: an allocation refresh uses the same credential) */
    turnTtlMs: number;
    /** A call nobody answers this long is missed */
    ringMs: number;
    /** A device whose last socket closed this long ago, without coming back, leaves its calls (gone) */
    graceMs: number;
  };
  /** Web push (docs/push.md). */
  push: {
    /** The VAPID key pair from PARLEY_VAPID_PUBLIC_KEY / _PRIVATE_KEY (base64url); null: generated once and kept in the store. The private key is not enumerable. */
    readonly vapid: { publicKey: string; privateKey: string } | null;
    /** The contact the push services may write to about this server (VAPID `sub`): a mailto: or https: URL */
    subject: string;
    /** Pushes sent at once by one node */
    concurrency: number;
    /** Tests only: accept http://127.0.0.1 push endpoints (a local fake push service) */
    allowLoopbackHttp: boolean;
  };
  ws: {
    maxBufferBytes: number;
    heartbeatMs: number;
    /** how often a node checks the sessions of its open sockets against the store */
    sessionCheckMs: number;
    /** open sockets one user may have on a node, and one session */
    maxPerUser: number;
    maxPerSession: number;
  };
}

const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isTrustedProxyEntry(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** S3-compatible object storage. The secret key is not enumerable, so no log or JSON of the config shows it. */
export interface S3Config {
  kind: 's3';
  /** null: AWS itself (the SDK's endpoint for the region) */
  endpoint: string | null;
  bucket: string;
  region: string;
  /** null for both: the SDK's default credential chain (environment, instance role) */
  accessKeyId: string | null;
  readonly secretAccessKey: string | null;
}

export type BlobStoreConfig = { kind: 'local' } | S3Config;

export class ConfigError extends Error {}

const MIB = 1024 * 1024;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Turns raw environment strings into a typed, frozen config; every problem is reported at once. */
export function buildConfig(raw: RawEnv): Readonly<Config> {
  const problems: string[] = [];

  function int(name: keyof RawEnv, fallback: number, min: number, max: number): number {
    const value = raw[name];
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${value}")`);
      return fallback;
    }
    return n;
  }

  // "30/10s" means 30 points per 10 seconds.
  function rate(name: keyof RawEnv, fallback: RateSpec): RateSpec {
    const value = raw[name];
    if (value === undefined) return fallback;
    const m = /^(\d+)\/(\d+)s$/.exec(value.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) {
      problems.push(`${name} must look like "30/10s" (points per seconds) (got "${value}")`);
      return fallback;
    }
    return { points: Number(m[1]), seconds: Number(m[2]) };
  }

  // Addresses, CIDR ranges, or the names proxy-addr knows for the private ranges.
  function trustProxy(): boolean | string[] {
    const value = raw.PARLEY_TRUST_PROXY;
    if (value === undefined || ['0', 'false', 'no'].includes(value)) return false;
    if (['1', 'true', 'yes'].includes(value)) return true;
    const entries = value.split(',').map((e) => e.trim());
    const bad = entries.filter((e) => !isTrustedProxyEntry(e));
    if (bad.length > 0) problems.push(`PARLEY_TRUST_PROXY must be true, false, or addresses and CIDR ranges separated by commas (not "${bad.join('", "')}")`);
    return entries;
  }

  const port = int('PORT', 8080, 0, 65535);
  const host = raw.HOST ?? '127.0.0.1';
  const dataDir = path.resolve(raw.PARLEY_DATA_DIR ?? './data');

  let db: Config['db'] = { kind: 'sqlite', dataDir, file: path.join(dataDir, 'parley.sqlite'), synchronous: 'normal' };
  if (raw.DATABASE_URL !== undefined) {
    if (/^postgres(ql)?:\/\//.test(raw.DATABASE_URL))
      db = { kind: 'postgres', url: raw.DATABASE_URL, statementTimeoutMs: int('PARLEY_PG_STATEMENT_TIMEOUT', 10, 1, 3600) * 1000 };
    else problems.push('DATABASE_URL must be a postgres:// URL, or unset for the embedded SQLite store (got another scheme)');
  }
  const syncMode = raw.PARLEY_SYNC_MODE ?? 'normal';
  if (syncMode !== 'normal' && syncMode !== 'full') problems.push(`PARLEY_SYNC_MODE must be normal or full (got "${syncMode}")`);
  else if (db.kind === 'sqlite') db.synchronous = syncMode;

  let redisUrl: string | null = null;
  if (raw.REDIS_URL !== undefined) {
    if (/^rediss?:\/\//.test(raw.REDIS_URL)) redisUrl = raw.REDIS_URL;
    else problems.push('REDIS_URL must be a redis:// URL (got another scheme)');
  }

  let nodeId: string | null = null;
  if (raw.PARLEY_NODE_ID !== undefined) {
    if (/^[A-Za-z0-9_.-]{1,64}$/.test(raw.PARLEY_NODE_ID)) nodeId = raw.PARLEY_NODE_ID;
    else problems.push(`PARLEY_NODE_ID must be 1 to 64 letters, digits, ".", "_" or "-" (got "${raw.PARLEY_NODE_ID}")`);
  }

  function blobStore(): BlobStoreConfig {
    const kind = raw.PARLEY_BLOB_STORE ?? 'local';
    const s3Vars = ['PARLEY_S3_ENDPOINT', 'PARLEY_S3_BUCKET', 'PARLEY_S3_REGION', 'PARLEY_S3_ACCESS_KEY_ID', 'PARLEY_S3_SECRET_ACCESS_KEY'] as const;
    if (kind === 'local') {
      const stray = s3Vars.filter((v) => raw[v] !== undefined);
      if (stray.length > 0) problems.push(`${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set but PARLEY_BLOB_STORE is not s3`);
      return { kind: 'local' };
    }
    if (kind !== 's3') {
      problems.push(`PARLEY_BLOB_STORE must be local or s3 (got "${kind}")`);
      return { kind: 'local' };
    }
    let endpoint: string | null = null;
    if (raw.PARLEY_S3_ENDPOINT !== undefined) {
      const url = URL.canParse(raw.PARLEY_S3_ENDPOINT) ? new URL(raw.PARLEY_S3_ENDPOINT) : null;
      if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password || url.search)
        // Not quoted back when it holds credentials: the message ends up in logs.
        problems.push(
          `PARLEY_S3_ENDPOINT must be an http:// or https:// URL without credentials or query${raw.PARLEY_S3_ENDPOINT.includes('@') ? '' : ` (got "${raw.PARLEY_S3_ENDPOINT}")`}`,
        );
      else endpoint = raw.PARLEY_S3_ENDPOINT.replace(/\/+$/, '');
    }
    const bucket = raw.PARLEY_S3_BUCKET ?? '';
    // The S3 bucket naming rules (path-style addressing also works with dots).
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      problems.push(
        raw.PARLEY_S3_BUCKET === undefined
          ? 'PARLEY_S3_BUCKET must be set when PARLEY_BLOB_STORE is s3'
          : `PARLEY_S3_BUCKET must be an S3 bucket name: 3 to 63 lowercase letters, digits, "." or "-" (got "${bucket}")`,
      );
    const region = raw.PARLEY_S3_REGION ?? 'us-east-1';
    if (!/^[a-z0-9-]{1,32}$/.test(region)) problems.push(`PARLEY_S3_REGION must be a region name such as us-east-1 (got "${region}")`);
    const keyId = raw.PARLEY_S3_ACCESS_KEY_ID ?? null;
    const secret = raw.PARLEY_S3_SECRET_ACCESS_KEY ?? null;
    if ((keyId === null) !== (secret === null))
      problems.push('PARLEY_S3_ACCESS_KEY_ID and PARLEY_S3_SECRET_ACCESS_KEY must be set together (or neither, for the default AWS credential chain)');
    const s3 = { kind: 's3', endpoint, bucket, region, accessKeyId: keyId } as S3Config;
    Object.defineProperty(s3, 'secretAccessKey', { value: secret, enumerable: false });
    return s3;
  }

  // Comma-separated ICE URLs of one scheme family, e.g. "turn:turn.example.net:3478?transport=udp,turns:turn.example.net:443".
  function iceUrls(name: 'PARLEY_STUN_URLS' | 'PARLEY_TURN_URLS', schemes: RegExp, label: string): string[] {
    const value = raw[name];
    if (value === undefined) return [];
    const urls = value.split(',').map((u) => u.trim());
    const bad = urls.filter((u) => !schemes.test(u) || u.length > 512);
    if (bad.length > 0) problems.push(`${name} must be ${label} URLs separated by commas (not "${bad.join('", "')}")`);
    return urls;
  }

  function calls(): Config['calls'] {
    const turnUrls = iceUrls('PARLEY_TURN_URLS', /^turns?:[^\s,@]+$/, 'turn: or turns:');
    const secret = raw.PARLEY_TURN_SECRET ?? null;
    if (turnUrls.length > 0 && secret === null) problems.push("PARLEY_TURN_SECRET must be set when PARLEY_TURN_URLS is (the TURN server's static-auth-secret)");
    if (turnUrls.length === 0 && secret !== null) problems.push('PARLEY_TURN_SECRET is set but PARLEY_TURN_URLS is not');
    const c = {
      stunUrls: iceUrls('PARLEY_STUN_URLS', /^stuns?:[^\s,@]+$/, 'stun: or stuns:'),
      turnUrls,
      turnTtlMs: int('PARLEY_TURN_TTL_SECONDS', 86_400, 1, 30 * 86_400) * 1000,
      ringMs: int('PARLEY_CALL_RING_SECONDS', 45, 1, 600) * 1000,
      graceMs: int('PARLEY_CALL_GRACE_SECONDS', 30, 1, 600) * 1000,
    } as Config['calls'];
    Object.defineProperty(c, 'turnSecret', { value: secret, enumerable: false });
    return c;
  }

  function push(): Config['push'] {
    const publicKey = raw.PARLEY_VAPID_PUBLIC_KEY;
    const privateKey = raw.PARLEY_VAPID_PRIVATE_KEY;
    if ((publicKey === undefined) !== (privateKey === undefined)) problems.push('PARLEY_VAPID_PUBLIC_KEY and PARLEY_VAPID_PRIVATE_KEY must be set together');
    if (publicKey !== undefined && !/^[A-Za-z0-9_-]{87}$/.test(publicKey))
      problems.push('PARLEY_VAPID_PUBLIC_KEY must be an uncompressed P-256 point in unpadded base64url (87 characters)');
    if (privateKey !== undefined && !/^[A-Za-z0-9_-]{43}$/.test(privateKey))
      problems.push('PARLEY_VAPID_PRIVATE_KEY must be a P-256 private key in unpadded base64url (43 characters)');
    const subject = raw.PARLEY_VAPID_SUBJECT ?? 'mailto:admin@localhost';
    if (!/^(mailto:|https:\/\/)\S+$/.test(subject)) problems.push(`PARLEY_VAPID_SUBJECT must be a mailto: or https: URL (got "${subject}")`);
    const allow = raw.PARLEY_PUSH_ALLOW_LOOPBACK_HTTP ?? 'false';
    if (!['true', 'false'].includes(allow)) problems.push(`PARLEY_PUSH_ALLOW_LOOPBACK_HTTP must be true or false (got "${allow}")`);
    const c = { subject, concurrency: int('PARLEY_PUSH_CONCURRENCY', 8, 1, 1000), allowLoopbackHttp: allow === 'true' } as Config['push'];
    const vapid = publicKey !== undefined && privateKey !== undefined ? { publicKey, privateKey } : null;
    Object.defineProperty(c, 'vapid', { value: vapid, enumerable: false });
    return c;
  }

  const e2ee = raw.PARLEY_E2EE ?? 'off';
  if (e2ee !== 'on' && e2ee !== 'off') problems.push(`PARLEY_E2EE must be on or off (got "${e2ee}")`);

  const logLevel = raw.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);

  const config: Config = {
    http: { port, host, trustProxy: trustProxy(), requestTimeoutMs: int('PARLEY_REQUEST_TIMEOUT', 30, 1, 3600) * 1000 },
    db,
    redisUrl,
    nodeId,
    presenceTtlMs: int('PARLEY_PRESENCE_TTL', 30, 3, 60) * 1000,
    logLevel,
    sessions: {
      max: int('PARLEY_MAX_SESSIONS', 10, 1, 1000),
      accessTtlMs: int('PARLEY_ACCESS_TOKEN_TTL', 900, 10, 86_400) * 1000,
      refreshTtlMs: int('PARLEY_REFRESH_TOKEN_TTL', 30 * 86_400, 60, 365 * 86_400) * 1000,
    },
    limits: {
      invitesPerDay: int('PARLEY_INVITES_PER_DAY', 10, 0, 100_000),
      login: rate('PARLEY_LOGIN_LIMIT', { points: 10, seconds: 60 }),
      messageLength: int('PARLEY_MAX_MESSAGE_LENGTH', 4096, 1, 65_536),
      groupMembers: int('PARLEY_MAX_GROUP_MEMBERS', 20, 2, 10_000),
      channelSubscribers: int('PARLEY_MAX_CHANNEL_SUBSCRIBERS', 10_000, 1, 1_000_000),
      chatsPerUser: int('PARLEY_MAX_CHATS_PER_USER', 500, 1, 100_000),
      messages: rate('PARLEY_MESSAGE_RATE', { points: 30, seconds: 10 }),
      reads: rate('PARLEY_READ_RATE', { points: 60, seconds: 10 }),
      readsInFlight: int('PARLEY_READS_IN_FLIGHT', 4, 1, 1000),
      writes: rate('PARLEY_WRITE_RATE', { points: 60, seconds: 10 }),
      failedLogins: rate('PARLEY_FAILED_LOGIN_LIMIT', { points: 30, seconds: 600 }),
      passwordChecks: rate('PARLEY_PASSWORD_CHECK_LIMIT', { points: 5, seconds: 600 }),
      failedRegistrations: rate('PARLEY_REGISTER_LIMIT', { points: 10, seconds: 600 }),
      exports: rate('PARLEY_EXPORT_RATE', { points: 3, seconds: 3600 }),
    },
    files: {
      blobDir: path.resolve(raw.PARLEY_BLOB_DIR ?? path.join(dataDir, 'blobs')),
      store: blobStore(),
      maxFileBytes: int('PARLEY_MAX_FILE_SIZE', 100 * MIB, 1, 64 * 1024 * MIB),
      uploadBytes: { points: int('PARLEY_UPLOAD_BYTES_PER_HOUR', 1024 * MIB, 1, Number.MAX_SAFE_INTEGER), seconds: 3600 },
      unfinishedPerUser: int('PARLEY_MAX_UNFINISHED_UPLOADS', 5, 1, 1000),
      uploadExpiryMs: int('PARLEY_UPLOAD_EXPIRY', 86_400, 60, 30 * 86_400) * 1000,
      unreferencedGraceMs: int('PARLEY_FILE_GRACE', 86_400, 0, 30 * 86_400) * 1000,
    },
    cleanupIntervalMs: int('PARLEY_CLEANUP_INTERVAL', 600, 1, 86_400) * 1000,
    e2ee: e2ee === 'on',
    calls: calls(),
    push: push(),
    ws: {
      maxBufferBytes: int('PARLEY_WS_MAX_BUFFER', 4 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      heartbeatMs: int('PARLEY_WS_HEARTBEAT', 25, 1, 600) * 1000,
      sessionCheckMs: int('PARLEY_WS_SESSION_CHECK', 1, 1, 60) * 1000,
      maxPerUser: int('PARLEY_WS_MAX_PER_USER', 20, 1, 10_000),
      maxPerSession: int('PARLEY_WS_MAX_PER_SESSION', 5, 1, 1000),
    },
  };

  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  return Object.freeze(config);
}
