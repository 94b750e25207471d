import type { Session, SessionTokens } from '@parley/protocol';
import type { SessionsTable } from '../../adapters/db/schema.ts';
import { iso } from '../../lib/time.ts';
import type { IssuedTokens } from './tokens.ts';

export function toSession(row: SessionsTable, currentId: string): Session {
  return {
    id: row.id,
    deviceName: row.device_name,
    createdAt: iso(row.created_at),
    lastActiveAt: iso(row.last_seen_at),
    ip: row.ip,
    userAgent: row.user_agent,
    current: row.id === currentId,
  };
}

export function tokensView(sessionId: string, userId: string, t: IssuedTokens): SessionTokens {
  return {
    sessionId,
    userId,
    accessToken: t.accessToken,
    accessTokenExpiresAt: iso(t.accessExpiresAt),
    refreshToken: t.refreshToken,
    refreshTokenExpiresAt: iso(t.refreshExpiresAt),
  };
}
