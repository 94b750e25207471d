import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisUploadLocker } from './redis-upload-locker.ts';

// Two lockers stand for two nodes on one Redis (the shared test instance, under a prefix of their own).
const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch (err) {
    if (process.env.CI === 'true') throw new Error(`The Redis locker tests must run under CI: ${(err as Error).message}`, { cause: err });
    console.warn(`Skipping the Redis locker tests: cannot reach ${REDIS_URL} (${(err as Error).message})`);
    return false;
  } finally {
    probe.disconnect();
  }
}

const never = new AbortController().signal;
const elapsed = (since: number) => performance.now() - since;

describe.runIf(await redisReachable())('RedisUploadLocker', () => {
  const prefix = `parley-test-${randomBytes(4).toString('hex')}:`;
  const lockers: RedisUploadLocker[] = [];
  const node = (options: { ttlMs?: number; acquireTimeoutMs?: number } = {}) => {
    const l = new RedisUploadLocker({ url: REDIS_URL, prefix, ...options });
    lockers.push(l);
    return l;
  };
  afterAll(async () => {
    await Promise.all(lockers.map((l) => l.close()));
  });

  it('lets one request hold an upload; another node asks it to let go and gets it once it is unlocked', async () => {
    const [a, b] = [node(), node()];
    // Let both subscribe before the release request is published.
    await new Promise((r) => setTimeout(r, 200));
    const held = a.newLock('u1');
    let askedToRelease = 0;
    await held.lock(never, () => {
      askedToRelease += 1;
      // The holder's request finishes its write, then unlocks (tus does this after lockDrainTimeout).
      setTimeout(() => void held.unlock(), 300);
    });
    const started = performance.now();
    await b.newLock('u1').lock(never, () => {});
    expect(askedToRelease).toBeGreaterThanOrEqual(1);
    expect(elapsed(started)).toBeGreaterThanOrEqual(250);
  });

  it('a lock whose node died expires after its ttl, and a stale unlock does not free the next holder', async () => {
    const [dead, b, c] = [node({ ttlMs: 400 }), node({ ttlMs: 5000 }), node({ acquireTimeoutMs: 600 })];
    await dead.newLock('u2').lock(never, () => {});
    // The node dies: no unlock, no renewal.
    await dead.close();
    const started = performance.now();
    const second = b.newLock('u2');
    await second.lock(never, () => {});
    expect(elapsed(started)).toBeGreaterThanOrEqual(200);
    // Another request's token does not match: its unlock (a late one, say) leaves b's lock in place.
    await b.newLock('u2').unlock();
    await expect(c.newLock('u2').lock(never, () => {})).rejects.toMatchObject({ status_code: 500 });
    await second.unlock();
    await c.newLock('u2').lock(never, () => {});
  });

  it('gives up when the request is aborted while waiting', async () => {
    const [a, b] = [node(), node()];
    await a.newLock('u3').lock(never, () => {});
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 150);
    await expect(b.newLock('u3').lock(abort.signal, () => {})).rejects.toMatchObject({ status_code: 500 });
  });
});
