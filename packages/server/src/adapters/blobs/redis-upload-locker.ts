import { randomBytes } from 'node:crypto';
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/server';
import { Redis } from 'ioredis';
import { redisOptions } from '../bus/redis-bus.ts';

export interface RedisUploadLockerOptions {
  url: string;
  /** Prefix of the keys and the channel, as the bus's. */
  prefix?: string;
  /** A lock not renewed this long expires (its node died); renewed at a third of it. */
  ttlMs?: number;
  /** How long a request waits for another's lock before tus answers 500 and the client retries. */
  acquireTimeoutMs?: number;
}

// Compare-and-delete and compare-and-expire: only the holder's token releases or extends a lock.
const UNLOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

interface Held {
  token: string;
  requestRelease: RequestRelease;
  renew: NodeJS.Timeout;
}

/**
 * The tus locker for several nodes: one upload is written by one request at a time, whichever node
 * holds it. A lock is `SET <prefix>lock:<id> <token> NX PX ttl`, renewed while held; a request that
 * finds it taken publishes the upload id on `<prefix>release`, the node holding it asks its request
 * to let go (tus stops that PATCH after its lockDrainTimeout, keeping what arrived), and the waiter
 * takes the lock once it is free. A node that dies mid-PATCH leaves a lock that expires after ttl.
 */
export class RedisUploadLocker implements Locker {
  readonly ttlMs: number;
  readonly acquireTimeoutMs: number;
  private readonly prefix: string;
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly held = new Map<string, Held>();
  private readonly channel: string;

  constructor(options: RedisUploadLockerOptions) {
    this.prefix = `${options.prefix ?? 'parley:'}tus:`;
    this.channel = `${this.prefix}release`;
    this.ttlMs = options.ttlMs ?? 15_000;
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 30_000;
    // Unlike the bus, lock commands wait for a reconnect briefly rather than fail at once.
    this.cmd = new Redis(options.url, { ...redisOptions('parley-tus-lock'), enableOfflineQueue: true });
    this.sub = new Redis(options.url, redisOptions('parley-tus-release'));
    for (const conn of [this.cmd, this.sub]) conn.on('error', () => {});
    this.sub.on('message', (_channel: string, id: string) => {
      void this.held.get(id)?.requestRelease();
    });
    // Subscribed on every (re)connect: with no offline queue, a subscribe sent earlier is dropped.
    this.sub.on('ready', () => void this.sub.subscribe(this.channel).catch(() => {}));
  }

  newLock(id: string): Lock {
    return new RedisUploadLock(this, id);
  }

  key(id: string): string {
    return `${this.prefix}lock:${id}`;
  }

  /** One attempt: true when this request now holds the lock. */
  async tryLock(id: string, token: string, requestRelease: RequestRelease): Promise<boolean> {
    const ok = await this.cmd.set(this.key(id), token, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return false;
    const renew = setInterval(() => {
      this.cmd.eval(RENEW, 1, this.key(id), token, String(this.ttlMs)).catch(() => {});
    }, this.ttlMs / 3);
    renew.unref();
    this.held.set(id, { token, requestRelease, renew });
    return true;
  }

  /** Asks whichever node holds the lock to release it. */
  async askRelease(id: string): Promise<void> {
    // A holder on this node is asked directly (a node does not hear its own publish any sooner).
    void this.held.get(id)?.requestRelease();
    await this.cmd.publish(this.channel, id);
  }

  async unlock(id: string, token: string): Promise<void> {
    const mine = this.held.get(id);
    if (mine?.token === token) {
      clearInterval(mine.renew);
      this.held.delete(id);
    }
    await this.cmd.eval(UNLOCK, 1, this.key(id), token);
  }

  async close(): Promise<void> {
    for (const h of this.held.values()) clearInterval(h.renew);
    this.held.clear();
    this.sub.disconnect();
    // QUIT lets pending unlocks go out first; while Redis is down it would wait for a reconnect.
    if (this.cmd.status === 'ready') await Promise.race([this.cmd.quit().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.cmd.disconnect();
  }
}

class RedisUploadLock implements Lock {
  private readonly token = randomBytes(16).toString('base64url');
  private readonly locker: RedisUploadLocker;
  private readonly id: string;

  constructor(locker: RedisUploadLocker, id: string) {
    this.locker = locker;
    this.id = id;
  }

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const deadline = Date.now() + this.locker.acquireTimeoutMs;
    let wait = 25;
    let askAt = 0;
    for (;;) {
      if (signal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
      if (await this.locker.tryLock(this.id, this.token, requestRelease)) return;
      // The holder's request stops within tus's lockDrainTimeout; asking again each second only
      // matters when another waiter took the lock first.
      if (Date.now() >= askAt) {
        askAt = Date.now() + 1000;
        await this.locker.askRelease(this.id);
      }
      if (Date.now() + wait > deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 200);
    }
  }

  async unlock(): Promise<void> {
    await this.locker.unlock(this.id, this.token);
  }
}
