import type { Bus } from '../../adapters/bus/bus.ts';

export interface ResolvedToken {
  sessionId: string;
  userId: string;
  isAdmin: boolean;
  expiresAt: number;
  /** when last_seen_at was last written for this session */
  seenAt: number;
}

const MAX_AGE_MS = 60_000;

/**
 * Resolved access tokens, kept in memory for a minute at most. A revocation anywhere in the cluster
 * arrives on the bus and drops the entry on every node, so a terminated session stops at once.
 */
export class TokenCache {
  private readonly byHash = new Map<string, ResolvedToken & { cachedAt: number }>();
  private readonly hashBySession = new Map<string, string>();
  private readonly unsubscribe: (() => void)[];
  private readonly listeners = new Set<(sessionIds: string[]) => void>();
  private checkedAt = Number.NEGATIVE_INFINITY;
  private checking: Promise<void> | null = null;

  constructor(bus: Bus) {
    this.unsubscribe = [
      bus.subscribe('sessions.revoked', (msg) => {
        for (const id of msg.sessionIds) this.dropSession(id);
        for (const listener of this.listeners) listener(msg.sessionIds);
      }),
      // Tokens of these sessions were replaced: caches drop them, sockets stay.
      bus.subscribe('sessions.rotated', (msg) => {
        for (const id of msg.sessionIds) this.dropSession(id);
      }),
    ];
  }

  get(hash: string, now: number): ResolvedToken | undefined {
    const entry = this.byHash.get(hash);
    if (!entry) return undefined;
    if (entry.expiresAt <= now || now - entry.cachedAt > MAX_AGE_MS) {
      this.dropSession(entry.sessionId);
      return undefined;
    }
    return entry;
  }

  set(hash: string, token: ResolvedToken, now: number): void {
    this.dropSession(token.sessionId);
    this.byHash.set(hash, { ...token, cachedAt: now });
    this.hashBySession.set(token.sessionId, hash);
  }

  dropSession(sessionId: string): void {
    const hash = this.hashBySession.get(sessionId);
    if (hash === undefined) return;
    this.hashBySession.delete(sessionId);
    this.byHash.delete(hash);
  }

  /**
   * Re-checks the cached sessions against the store at most once per `intervalMs`: `current` gets the
   * cached session ids and returns the access-token hash each one still has (absent when the session is
   * gone or its user disabled). Entries that no longer match are dropped; sessions that are gone are
   * reported to the revocation listeners. Callers during a check wait for it, so none of them is
   * answered from an entry the check is about to drop.
   */
  recheck(now: number, intervalMs: number, current: (sessionIds: string[]) => Promise<Map<string, string>>): Promise<void> {
    if (this.checking) return this.checking;
    if (now - this.checkedAt < intervalMs) return Promise.resolve();
    this.checkedAt = now;
    const cached = [...this.hashBySession.entries()];
    if (cached.length === 0) return Promise.resolve();
    this.checking = (async () => {
      try {
        const live = await current(cached.map(([id]) => id));
        const gone: string[] = [];
        for (const [sessionId, hash] of cached) {
          const liveHash = live.get(sessionId);
          if (liveHash === hash) continue;
          // Only drop what the check looked at: the entry may have been replaced since.
          if (this.hashBySession.get(sessionId) === hash) this.dropSession(sessionId);
          if (liveHash === undefined) gone.push(sessionId);
        }
        if (gone.length > 0) for (const listener of this.listeners) listener(gone);
      } finally {
        this.checking = null;
      }
    })();
    return this.checking;
  }

  /** Called with the ids of sessions revoked anywhere in the cluster (the gateway closes their sockets). */
  onRevoked(listener: (sessionIds: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    for (const off of this.unsubscribe) off();
    this.listeners.clear();
    this.byHash.clear();
    this.hashBySession.clear();
  }
}
