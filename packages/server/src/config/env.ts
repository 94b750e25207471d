/** The only place that reads process.env: raw strings, no defaults, no checks. */
export interface RawEnv {
  PORT?: string;
  HOST?: string;
  PARLEY_DATA_DIR?: string;
  DATABASE_URL?: string;
  REDIS_URL?: string;
  LOG_LEVEL?: string;
  PARLEY_TRUST_PROXY?: string;
  PARLEY_MAX_SESSIONS?: string;
  PARLEY_ACCESS_TOKEN_TTL?: string;
  PARLEY_REFRESH_TOKEN_TTL?: string;
  PARLEY_INVITES_PER_DAY?: string;
  PARLEY_LOGIN_LIMIT?: string;
  PARLEY_MAX_MESSAGE_LENGTH?: string;
  PARLEY_MAX_GROUP_MEMBERS?: string;
  PARLEY_MAX_CHANNEL_SUBSCRIBERS?: string;
  PARLEY_MAX_CHATS_PER_USER?: string;
  PARLEY_MESSAGE_RATE?: string;
  PARLEY_CLEANUP_INTERVAL?: string;
  PARLEY_WS_MAX_BUFFER?: string;
  PARLEY_SYNC_MODE?: string;
  PARLEY_NODE_ID?: string;
  PARLEY_PRESENCE_TTL?: string;
  PARLEY_WS_HEARTBEAT?: string;
  PARLEY_WS_SESSION_CHECK?: string;
  PARLEY_WS_MAX_PER_USER?: string;
  PARLEY_WS_MAX_PER_SESSION?: string;
}

const KEYS: (keyof RawEnv)[] = [
  'PORT',
  'HOST',
  'PARLEY_DATA_DIR',
  'DATABASE_URL',
  'REDIS_URL',
  'LOG_LEVEL',
  'PARLEY_TRUST_PROXY',
  'PARLEY_MAX_SESSIONS',
  'PARLEY_ACCESS_TOKEN_TTL',
  'PARLEY_REFRESH_TOKEN_TTL',
  'PARLEY_INVITES_PER_DAY',
  'PARLEY_LOGIN_LIMIT',
  'PARLEY_MAX_MESSAGE_LENGTH',
  'PARLEY_MAX_GROUP_MEMBERS',
  'PARLEY_MAX_CHANNEL_SUBSCRIBERS',
  'PARLEY_MAX_CHATS_PER_USER',
  'PARLEY_MESSAGE_RATE',
  'PARLEY_CLEANUP_INTERVAL',
  'PARLEY_WS_MAX_BUFFER',
  'PARLEY_SYNC_MODE',
  'PARLEY_NODE_ID',
  'PARLEY_PRESENCE_TTL',
  'PARLEY_WS_HEARTBEAT',
  'PARLEY_WS_SESSION_CHECK',
  'PARLEY_WS_MAX_PER_USER',
  'PARLEY_WS_MAX_PER_SESSION',
];

export function readEnv(env: NodeJS.ProcessEnv = process.env): RawEnv {
  const raw: RawEnv = {};
  for (const key of KEYS) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  return raw;
}
