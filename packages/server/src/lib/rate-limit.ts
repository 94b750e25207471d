import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
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
