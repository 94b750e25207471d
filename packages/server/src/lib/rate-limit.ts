import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ErrorCode } from '@parley/protocol';
import { AppError } from './errors.ts';

/** Takes one point for `key`; with none left, returns the limiter's answer (when to try again) instead of throwing. */
export async function takePoint(limiter: RateLimiterAbstract, key: string): Promise<RateLimiterRes | null> {
  try {
    await limiter.consume(key);
    return null;
  } catch (err) {
    if (!(err instanceof RateLimiterRes)) throw err;
    return err;
  }
}

/** The 429 for a spent limit, with Retry-After in whole seconds (at least 1). `what` names what was refused. */
export function rateLimited(res: RateLimiterRes, what: string): AppError {
  const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
  return new AppError('rate_limited', `Too many ${what}, try again in ${retryAfter} seconds`, { 'retry-after': String(retryAfter) });
}

/**
 * A limit on failures (wrong passwords, made-up invite codes): once `key` has spent its points the
 * attempt is refused before it runs, and only an attempt that fails in a way `counts` accepts takes a point.
 */
export async function limitFailures<T>(
  limit: { limiter: RateLimiterAbstract; key: string; what: string; counts: (err: unknown) => boolean },
  attempt: () => Promise<T>,
): Promise<T> {
  const seen = await limit.limiter.get(limit.key);
  if (seen && seen.remainingPoints <= 0) throw rateLimited(seen, limit.what);
  try {
    return await attempt();
  } catch (err) {
    if (limit.counts(err)) await limit.limiter.penalty(limit.key, 1).catch(() => {});
    throw err;
  }
}

/** The AppError codes an attempt failed with, for limitFailures' `counts`. */
export function failedWith(...codes: ErrorCode[]): (err: unknown) => boolean {
  return (err) => err instanceof AppError && codes.includes(err.code);
}
