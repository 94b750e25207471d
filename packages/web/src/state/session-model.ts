import { batch, signal } from '@preact/signals';
import { createModel } from './create-model.ts';
import type { Limits, Me, ParleyClient, SessionTokens } from '@parley/sdk';
import { deviceName, type AppStorage } from './storage.ts';

export type AuthState = 'loading' | 'signed-out' | 'signed-in';

/**
 * Who is signed in: the account, its tokens (kept in storage and shared with other tabs) and the
 * server's limits. `onEnded` is told when the session ends from outside (another tab, the server).
 */
export const SessionModel = createModel((client: ParleyClient, storage: AppStorage, onEnded: (reason: string) => void) => {
  const auth = signal<AuthState>('loading');
  const me = signal<Me | null>(null);
  /** Why the user was signed out, shown on the login screen. */
  const signOutReason = signal<string | null>(null);
  /** The server's limits; null until loaded after sign-in (the server enforces them anyway). */
  const limits = signal<Limits | null>(null);
  let refreshTimer: ReturnType<typeof setInterval> | null = null;

  return {
    auth,
    me,
    signOutReason,
    limits,
    /** The client's tokens changed (sign-in, refresh, sign-out): keep them for reloads and other tabs. */
    sessionChanged(session: SessionTokens | null) {
      storage.setSession(session);
      if (session) storage.setDeviceSessionId(session.sessionId);
      else if (auth.value === 'signed-in') onEnded('Your session ended. Sign in again.');
    },
    /** Another tab rotated the tokens: use the new ones, or the refresh token would count as reused. */
    storageChanged(key: string | null) {
      if (!storage.isSessionKey(key)) return;
      const next = storage.session();
      if (next?.accessToken === client.session?.accessToken) return;
      if (next) client.setSession(next);
      else if (auth.value === 'signed-in') onEnded('You signed out in another tab.');
    },
    async login(input: { username: string; password: string }) {
      const sessionId = storage.deviceSessionId() ?? undefined;
      await client.login({ ...input, deviceName: deviceName(), ...(sessionId ? { sessionId } : {}) });
      signOutReason.value = null;
    },
    signedIn(account: Me) {
      batch(() => {
        me.value = account;
        auth.value = 'signed-in';
      });
      refreshTimer ??= setInterval(() => void client.ensureFresh(120_000).catch(() => {}), 30_000);
    },
    accountUpdated(account: Me) {
      me.value = account;
    },
    loadLimits() {
      client
        .getLimits()
        .then((l) => (limits.value = l))
        .catch(() => {});
    },
    /** Ends the session on the server; signed out here even when the server cannot be reached. */
    async logout() {
      try {
        await client.logout();
      } catch {
        client.setSession(null);
      }
    },
    /** Forgets the account here; the caller clears what belonged to it. */
    signedOut(reason: string | null) {
      const userId = me.value?.id;
      // Set first: clearing the session below reports back through sessionChanged.
      auth.value = 'signed-out';
      if (refreshTimer) clearInterval(refreshTimer);
      refreshTimer = null;
      if (client.session) client.setSession(null);
      if (userId) storage.clearUser(userId);
      batch(() => {
        signOutReason.value = reason;
        me.value = null;
        limits.value = null;
      });
    },
  };
});
export type SessionModel = InstanceType<typeof SessionModel>;
