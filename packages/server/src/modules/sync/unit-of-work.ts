import type { SyncEvent } from '@parley/protocol';
import type { Delivery } from '../../adapters/bus/topics.ts';
import type { Tx } from '../../adapters/db/database.ts';
import type { Services } from '../services.ts';

/**
 * One change under way: its transaction, its time, and what it will announce. Nothing is announced
 * until the transaction commits, so nobody hears about a change that did not happen.
 */
export class Work {
  readonly tx: Tx;
  /** the time of the change, the same for every row it writes */
  readonly now: number;
  private readonly deliveries: Delivery[] = [];
  private readonly revoked: string[] = [];
  private readonly rotated: string[] = [];

  constructor(tx: Tx, now: number) {
    this.tx = tx;
    this.now = now;
  }

  /** Delivers an event to these users' sockets once committed. */
  deliver(userIds: string[], event: SyncEvent): void {
    if (userIds.length > 0) this.deliveries.push({ userIds, event });
  }

  /** These sessions end: every node drops their tokens and closes their sockets once committed. */
  revoke(sessionIds: string[]): void {
    this.revoked.push(...sessionIds);
  }

  /** This session's tokens were replaced: every node drops the cached old ones once committed. */
  rotate(sessionId: string): void {
    this.rotated.push(sessionId);
  }

  /** Called once, after commit. */
  announce(s: Services): void {
    for (const d of this.deliveries) s.bus.publish('deliver', d);
    if (this.revoked.length > 0) {
      for (const id of this.revoked) s.tokens.dropSession(id);
      s.bus.publish('sessions.revoked', { sessionIds: this.revoked });
    }
    if (this.rotated.length > 0) {
      for (const id of this.rotated) s.tokens.dropSession(id);
      s.bus.publish('sessions.rotated', { sessionIds: this.rotated });
    }
  }
}

export interface CommitOptions {
  /** share a transaction with other changes arriving at the same moment (see Database.grouped) */
  grouped?: boolean;
}

/**
 * The one way to change state: runs fn in a transaction and, once it has committed, announces what
 * fn recorded (events, ended sessions). A retried attempt starts from an empty Work, so what a
 * rolled-back attempt recorded never goes out.
 */
export async function commit<T>(s: Services, fn: (work: Work) => Promise<T>, options: CommitOptions = {}): Promise<T> {
  const now = s.now();
  let work: Work | undefined;
  const attempt = (tx: Tx) => {
    work = new Work(tx, now);
    return fn(work);
  };
  const result = await (options.grouped ? s.db.grouped(attempt) : s.db.transaction(attempt));
  work!.announce(s);
  return result;
}
