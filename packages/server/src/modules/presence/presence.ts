import type { Presence } from '@parley/protocol';
import type { PresenceDirectory } from '../../adapters/presence/presence-directory.ts';
import { isoOrNull } from '../../lib/time.ts';
import type { Actor, Services } from '../services.ts';
import { contactsOf, lastSeenOf, setLastSeen } from './presence.store.ts';

export interface PresenceOptions {
  /** The cluster-wide directory (Redis); without it, presence is what this node sees */
  cluster?: PresenceDirectory;
  /** How long a node's word lasts without renewal; renewals and reaping run at a third of it */
  ttlMs?: number;
}

const GOODBYE_BUDGET_MS = 1000;
/** Longest a new socket's hello waits for the directory to register its user. */
const REGISTER_WAIT_MS = 2000;

/**
 * Who is online: a user is online while any of their devices holds a socket on any node. This node
 * counts its own sockets; with a cluster directory it also vouches for its users there on a
 * heartbeat, and reaps users of nodes that died without a goodbye. Changes are told to the user's
 * contacts through the bus.
 */
export class PresenceTracker {
  private readonly sockets = new Map<string, number>();
  private readonly s: Services;
  private readonly cluster: PresenceDirectory | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Announcements under way, which a shutdown lets finish before the bus and store close. */
  private readonly inflight = new Set<Promise<void>>();
  /** Users whose first socket here is being registered in the directory, and when that is done. */
  private readonly registering = new Map<string, Promise<void>>();
  private readonly restored = new Set<(userIds: string[]) => void>();

  constructor(s: Services, options: PresenceOptions = {}) {
    this.s = s;
    this.cluster = options.cluster;
    if (this.cluster) {
      this.timer = setInterval(() => void this.tick(), Math.max(500, Math.floor((options.ttlMs ?? 30_000) / 3)));
      this.timer.unref();
    }
  }

  /** Whether this node holds a socket of the user. */
  isOnline(userId: string): boolean {
    return (this.sockets.get(userId) ?? 0) > 0;
  }

  /**
   * A socket of the user opened here. Resolves once the directory knows this node holds the user
   * (or the attempt failed): deliveries are routed by the directory, so a socket must not start
   * reading (and the client must not start its backfill) before then.
   */
  connected(userId: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    const n = (this.sockets.get(userId) ?? 0) + 1;
    this.sockets.set(userId, n);
    if (n > 1) return this.registering.get(userId) ?? Promise.resolve();
    if (!this.cluster) {
      this.track(this.announce(userId, true, null));
      return Promise.resolve();
    }
    // A failed registration is made good by the next heartbeat, which finds the user forgotten
    // and has the user's sockets resync (onRestored).
    // A stalled Redis must not keep sockets waiting for their hello: past the bound they go ahead,
    // and if the registration never lands, the heartbeat's forgotten users resync as above.
    let timer: NodeJS.Timeout | undefined;
    const registered = Promise.race([
      this.cluster.vouch([userId], this.s.now()).then(
        () => undefined,
        (err) => this.s.log.warn({ err }, 'presence update failed'),
      ),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, REGISTER_WAIT_MS))),
    ]).finally(() => clearTimeout(timer));
    this.registering.set(userId, registered);
    void registered.then(() => {
      if (this.registering.get(userId) === registered) this.registering.delete(userId);
    });
    // Announced even when another node holds the user already: a repeated "online" is harmless.
    this.track(registered.then(() => this.announce(userId, true, null)));
    return registered;
  }

  /**
   * Calls handler with users this node holds that the directory had forgotten (a failed
   * registration, a reaper that took them during a stall, Redis losing its data): deliveries for
   * them may have gone elsewhere meanwhile, so their sockets resync.
   */
  onRestored(handler: (userIds: string[]) => void): () => void {
    this.restored.add(handler);
    return () => this.restored.delete(handler);
  }

  disconnected(userId: string): void {
    if (this.closed) return;
    const n = (this.sockets.get(userId) ?? 1) - 1;
    if (n > 0) {
      this.sockets.set(userId, n);
      return;
    }
    this.sockets.delete(userId);
    const now = this.s.now();
    if (!this.cluster) return this.track(this.wentOffline(userId, now));
    this.track(
      this.cluster.withdraw(userId, now).then(
        (elsewhere) => (elsewhere || this.isOnline(userId) ? undefined : this.wentOffline(userId, now)),
        (err) => {
          this.s.log.warn({ err }, 'presence update failed');
          return this.isOnline(userId) ? undefined : this.wentOffline(userId, now);
        },
      ),
    );
  }

  private track(p: Promise<void>): void {
    const settled = p.catch((err) => this.s.log.warn({ err }, 'presence update failed'));
    this.inflight.add(settled);
    void settled.finally(() => this.inflight.delete(settled));
  }

  /** Renews this node's word for its users and reports users of nodes that stopped renewing. */
  private async tick(): Promise<void> {
    const cluster = this.cluster!;
    const now = this.s.now();
    try {
      const forgotten = (await cluster.vouch([...this.sockets.keys()], now)).filter((u) => this.isOnline(u));
      for (const userId of forgotten) void this.announce(userId, true, null);
      if (forgotten.length > 0) for (const handler of this.restored) handler(forgotten);
      for (const { userId, lastSeenAt } of await cluster.reap(now)) {
        if (!this.isOnline(userId)) void this.wentOffline(userId, lastSeenAt);
      }
    } catch (err) {
      this.s.log.debug({ err }, 'presence heartbeat failed');
    }
  }

  private async wentOffline(userId: string, at: number): Promise<void> {
    await setLastSeen(this.s.db.kysely, { userId, at }).catch((err) => this.s.log.warn({ err }, 'last seen update failed'));
    await this.announce(userId, false, at);
  }

  private async announce(userId: string, online: boolean, lastSeenAt: number | null): Promise<void> {
    try {
      const contacts = await contactsOf(this.s.db.kysely, { userId });
      if (contacts.length === 0) return;
      this.s.bus.publish('deliver', { userIds: contacts, presence: { userId, online, lastSeenAt: isoOrNull(lastSeenAt) } });
    } catch (err) {
      this.s.log.warn({ err }, 'presence announcement failed');
    }
  }

  /** Presence of the given users, for those who share a chat with the actor. */
  async get(actor: Actor, userIds: string[]): Promise<Presence[]> {
    const visible = await contactsOf(this.s.db.kysely, { userId: actor.userId, among: userIds });
    if (visible.length === 0) return [];
    const rows = await lastSeenOf(this.s.db.kysely, visible);
    const online = new Set(visible.filter((u) => this.isOnline(u)));
    const remote = visible.filter((u) => !online.has(u));
    if (this.cluster && remote.length > 0) {
      try {
        for (const u of await this.cluster.online(remote, this.s.now())) online.add(u);
      } catch (err) {
        // Without the directory, this node can only speak for its own sockets.
        this.s.log.warn({ err }, 'presence lookup failed');
      }
    }
    return rows.map((r) => ({ userId: r.id, online: online.has(r.id), lastSeenAt: isoOrNull(r.lastSeenAt) }));
  }

  /**
   * Stops the heartbeat and says goodbye: the users this node still held are withdrawn from the
   * cluster directory, if any, and those no other node holds get their last seen time and an offline
   * announcement. Announcements under way get to finish too, within a bounded time.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const users = [...this.sockets.keys()];
    this.sockets.clear();
    const now = this.s.now();
    if (users.length > 0) {
      const offline = this.cluster ? this.cluster.withdrawAll(users, now) : Promise.resolve(users);
      this.track(offline.then(async (gone) => void (await Promise.all(gone.map((u) => this.wentOffline(u, now))))));
    }
    if (this.inflight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => (timer = setTimeout(r, GOODBYE_BUDGET_MS)))]);
    clearTimeout(timer);
  }
}
