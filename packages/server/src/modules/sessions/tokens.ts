import { hashToken, newToken } from '../../lib/ids.ts';
import type { Services } from '../services.ts';
import type { SessionTokenFields } from './sessions.store.ts';

/** A fresh access and refresh token pair; only their hashes are stored. */
export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  accessHash: string;
  refreshHash: string;
  accessExpiresAt: number;
  refreshExpiresAt: number;
}

export function issueTokens(s: Services, now: number): IssuedTokens {
  const accessToken = newToken();
  const refreshToken = newToken();
  return {
    accessToken,
    refreshToken,
    accessHash: hashToken(accessToken),
    refreshHash: hashToken(refreshToken),
    accessExpiresAt: now + s.config.sessions.accessTtlMs,
    refreshExpiresAt: now + s.config.sessions.refreshTtlMs,
  };
}

/** The session columns a sign-in or refresh sets for these tokens. */
export function tokenFields(t: IssuedTokens, options: { now: number; ip: string; userAgent: string; prevRefreshHash: string | null }): SessionTokenFields {
  return {
    access_hash: t.accessHash,
    access_expires_at: t.accessExpiresAt,
    refresh_hash: t.refreshHash,
    refresh_expires_at: t.refreshExpiresAt,
    prev_refresh_hash: options.prevRefreshHash,
    last_seen_at: options.now,
    ip: options.ip,
    user_agent: options.userAgent,
  };
}
