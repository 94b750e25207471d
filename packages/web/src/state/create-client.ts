import { ParleyClient, type SessionTokens } from '@parley/sdk';
import type { AppStorage } from './storage.ts';

/** The API client for this page, its tokens kept in storage and refreshed by one tab at a time. */
export function createClient(storage: AppStorage, onSession: (session: SessionTokens | null) => void): ParleyClient {
  return new ParleyClient({
    baseUrl: location.origin,
    session: storage.session(),
    onSession,
    // Tabs share the session: one refreshes at a time, and the others then take its new tokens.
    exclusive: (fn) => (navigator.locks ? (navigator.locks.request('parley-session-refresh', fn) as ReturnType<typeof fn>) : fn()),
    loadSession: () => storage.session(),
  });
}
