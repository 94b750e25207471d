import type { Work } from '../sync/unit-of-work.ts';

/**
 * What other modules do when an account is made or deleted, inside the same change: what they
 * record in `work` is announced with the rest once it commits.
 */
export interface AccountHooks {
  created(work: Work, userId: string): Promise<void>;
  deleting(work: Work, userId: string): Promise<void>;
}
