import type { Redis } from 'ioredis';
import type { Departed, PresenceDirectory } from './presence-directory.ts';

const REAP_BATCH = 500;

/**
 * Who is online anywhere in the cluster, in Redis. Each node vouches for the users it holds sockets
 * of, with an expiry it renews on a heartbeat:
 *   <prefix>presence:<userId>  sorted set  member nodeId, score expiry (ms)
 *   <prefix>presence:all       sorted set  member "nodeId userId", score expiry (ms)
 * A node that dies stops renewing; whichever node first removes an expired pair from the second set
 * (ZREM answers 1 to one caller only) reports the user offline, so exactly one node announces it.
 */
export class RedisPresenceStore implements PresenceDirectory {
  private readonly redis: Redis;
  private readonly node: string;
  private readonly ttlMs: number;
  private readonly prefix: string;
  private readonly all: string;

  /** `nodeId` must be unique to this process and contain no space. */
  constructor(redis: Redis, options: { nodeId: string; ttlMs: number; prefix?: string }) {
    this.redis = redis;
    this.node = options.nodeId;
    this.ttlMs = options.ttlMs;
    this.prefix = `${options.prefix ?? 'parley:'}presence:`;
    this.all = `${this.prefix}all`;
  }

  private key(userId: string): string {
    return this.prefix + userId;
  }

  /**
   * Vouches for these users for another TTL. Returns those the cluster had forgotten (a reaper took
   * them while this node could not renew, or Redis lost its data), to be announced online again.
   */
  async vouch(userIds: string[], now: number): Promise<string[]> {
    if (userIds.length === 0) return [];
    const expires = now + this.ttlMs;
    const p = this.redis.pipeline();
    for (const u of userIds) {
      p.zadd(this.key(u), expires, this.node);
      p.pexpire(this.key(u), this.ttlMs * 2);
      p.zadd(this.all, expires, `${this.node} ${u}`);
    }
    const results = (await p.exec()) ?? [];
    const forgotten: string[] = [];
    userIds.forEach((u, i) => {
      const [err, added] = results[i * 3 + 2] ?? [];
      if (err) throw err;
      if (added === 1) forgotten.push(u);
    });
    return forgotten;
  }

  /** This node no longer holds the user; resolves to whether another node still does. */
  async withdraw(userId: string, now: number): Promise<boolean> {
    const results = await this.redis
      .multi()
      .zrem(this.key(userId), this.node)
      .zrem(this.all, `${this.node} ${userId}`)
      .zcount(this.key(userId), now, '+inf')
      .exec();
    const [err, count] = results?.[2] ?? [new Error('presence withdraw failed'), 0];
    if (err) throw err;
    return Number(count) > 0;
  }

  /** Of these users, those some live node vouches for. */
  async online(userIds: string[], now: number): Promise<Set<string>> {
    const online = new Set<string>();
    if (userIds.length === 0) return online;
    const p = this.redis.pipeline();
    for (const u of userIds) p.zcount(this.key(u), now, '+inf');
    const results = (await p.exec()) ?? [];
    userIds.forEach((u, i) => {
      const [err, count] = results[i] ?? [];
      if (err) throw err;
      if (Number(count) > 0) online.add(u);
    });
    return online;
  }

  /** Removes pairs whose node stopped vouching; returns the users no node vouches for any more. */
  async reap(now: number): Promise<Departed[]> {
    const expired = await this.redis.zrangebyscore(this.all, '-inf', now, 'WITHSCORES', 'LIMIT', 0, REAP_BATCH);
    const departed: Departed[] = [];
    for (let i = 0; i < expired.length; i += 2) {
      const pair = expired[i]!;
      const expiresAt = Number(expired[i + 1]);
      const [node, userId] = pair.split(' ');
      if (!node || !userId) continue;
      // One node wins each pair: only it goes on to announce.
      if ((await this.redis.zrem(this.all, pair)) !== 1) continue;
      const results = await this.redis.multi().zremrangebyscore(this.key(userId), '-inf', now).zcount(this.key(userId), now, '+inf').exec();
      if (Number(results?.[1]?.[1] ?? 1) === 0) departed.push({ userId, lastSeenAt: expiresAt - this.ttlMs });
    }
    return departed;
  }

  /** A goodbye on shutdown: withdraws every user this node vouched for; returns those now offline. */
  async withdrawAll(userIds: string[], now: number): Promise<string[]> {
    const elsewhere = await Promise.all(userIds.map((u) => this.withdraw(u, now)));
    return userIds.filter((_, i) => !elsewhere[i]);
  }
}
