import { describe, expect, it } from 'vitest';
import { InProcessBus } from '../../adapters/bus/in-process-bus.ts';
import { TokenCache, type ResolvedToken } from './token-cache.ts';

const token = (sessionId: string, expiresAt = 10_000): ResolvedToken => ({ sessionId, userId: `u-${sessionId}`, isAdmin: false, expiresAt, seenAt: 0 });
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('TokenCache', () => {
  it('get() answers what set() stored until it expires', () => {
    const cache = new TokenCache(new InProcessBus());
    cache.set('h1', token('s1', 5000), 0);
    expect(cache.get('h1', 4999)?.sessionId).toBe('s1');
    expect(cache.get('h1', 5000)).toBeUndefined();
    cache.close();
  });

  it('get() forgets an entry older than a minute even when its token lives on', () => {
    const cache = new TokenCache(new InProcessBus());
    cache.set('h1', token('s1', 10 * 60_000), 0);
    expect(cache.get('h1', 60_000)).toBeDefined();
    expect(cache.get('h1', 60_001)).toBeUndefined();
    cache.close();
  });

  it('set() replaces the entry of the same session under its old hash', () => {
    const cache = new TokenCache(new InProcessBus());
    cache.set('old', token('s1'), 0);
    cache.set('new', token('s1'), 0);
    expect(cache.get('old', 1)).toBeUndefined();
    expect(cache.get('new', 1)?.sessionId).toBe('s1');
    cache.close();
  });

  it('drops revoked sessions heard on the bus and tells the listeners', async () => {
    const bus = new InProcessBus();
    const cache = new TokenCache(bus);
    const heard: string[][] = [];
    cache.onRevoked((ids) => heard.push(ids));
    cache.set('h1', token('s1'), 0);
    cache.set('h2', token('s2'), 0);
    bus.publish('sessions.revoked', { sessionIds: ['s1'] });
    await tick();
    expect(cache.get('h1', 1)).toBeUndefined();
    expect(cache.get('h2', 1)).toBeDefined();
    expect(heard).toEqual([['s1']]);
    cache.close();
  });

  it('drops rotated sessions heard on the bus without telling the revocation listeners', async () => {
    const bus = new InProcessBus();
    const cache = new TokenCache(bus);
    const heard: string[][] = [];
    cache.onRevoked((ids) => heard.push(ids));
    cache.set('h1', token('s1'), 0);
    bus.publish('sessions.rotated', { sessionIds: ['s1'] });
    await tick();
    expect(cache.get('h1', 1)).toBeUndefined();
    expect(heard).toEqual([]);
    cache.close();
  });

  it('recheck() drops entries whose hash changed and reports sessions that are gone', async () => {
    const cache = new TokenCache(new InProcessBus());
    const gone: string[][] = [];
    cache.onRevoked((ids) => gone.push(ids));
    cache.set('h1', token('s1'), 0);
    cache.set('h2', token('s2'), 0);
    cache.set('h3', token('s3'), 0);
    await cache.recheck(
      1000,
      1000,
      async () =>
        new Map([
          ['s1', 'h1'],
          ['s2', 'rotated'],
        ]),
    );
    expect(cache.get('h1', 1000)).toBeDefined();
    expect(cache.get('h2', 1000)).toBeUndefined();
    expect(cache.get('h3', 1000)).toBeUndefined();
    expect(gone).toEqual([['s3']]);
    cache.close();
  });

  it('recheck() runs at most once per interval', async () => {
    const cache = new TokenCache(new InProcessBus());
    cache.set('h1', token('s1'), 0);
    let calls = 0;
    const current = async () => {
      calls++;
      return new Map([['s1', 'h1']]);
    };
    await cache.recheck(1000, 1000, current);
    await cache.recheck(1999, 1000, current);
    expect(calls).toBe(1);
    await cache.recheck(2000, 1000, current);
    expect(calls).toBe(2);
    cache.close();
  });

  it('recheck() makes concurrent callers wait for the check under way', async () => {
    const cache = new TokenCache(new InProcessBus());
    cache.set('h1', token('s1'), 0);
    let release!: () => void;
    const first = cache.recheck(1000, 1000, () => new Promise((r) => (release = () => r(new Map()))));
    let secondDone = false;
    const second = cache.recheck(1000, 1000, async () => new Map()).then(() => (secondDone = true));
    await tick();
    expect(secondDone).toBe(false);
    release();
    await Promise.all([first, second]);
    expect(cache.get('h1', 1000)).toBeUndefined();
    cache.close();
  });
});
