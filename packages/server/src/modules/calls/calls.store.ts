import type { Kysely } from 'kysely';
import type { Tx } from '../../adapters/db/database.ts';
import type { CallsTable, DB } from '../../adapters/db/schema.ts';

/** The states of a call that is not over: at most one per chat (the calls_live_chat index). */
export const LIVE: CallsTable['state'][] = ['ringing', 'active'];

export async function insertCall(tx: Tx, row: CallsTable): Promise<void> {
  await tx.insertInto('calls').values(row).execute();
}

export async function findCall(db: Kysely<DB>, callId: string): Promise<CallsTable | undefined> {
  return db.selectFrom('calls').selectAll().where('id', '=', callId).executeTakeFirst();
}

export async function liveCallInChat(db: Kysely<DB>, chatId: string): Promise<CallsTable | undefined> {
  return db.selectFrom('calls').selectAll().where('chat_id', '=', chatId).where('state', 'in', LIVE).executeTakeFirst();
}

/** Whether the user is in an answered call, as caller or callee (each side through its own index). */
export async function inActiveCall(db: Kysely<DB>, userId: string): Promise<boolean> {
  const asCaller = await db.selectFrom('calls').select('id').where('caller_user', '=', userId).where('state', '=', 'active').executeTakeFirst();
  if (asCaller) return true;
  return !!(await db.selectFrom('calls').select('id').where('callee_user', '=', userId).where('state', '=', 'active').executeTakeFirst());
}

/**
 * The compare-and-set of an answer: ringing → active on this device, only while it rings and only
 * for the callee. Of two devices (on any nodes) answering at once, exactly one gets the row.
 */
export async function claimAnswer(tx: Tx, options: { callId: string; userId: string; sessionId: string; now: number }): Promise<CallsTable | undefined> {
  return tx
    .updateTable('calls')
    .set({ state: 'active', callee_session: options.sessionId, answered_at: options.now, callee_bound_at: options.now })
    .where('id', '=', options.callId)
    .where('callee_user', '=', options.userId)
    .where('state', '=', 'ringing')
    .where('ring_expires_at', '>', options.now)
    .returningAll()
    .executeTakeFirst();
}

/** The compare-and-set of an end: only from one of `from`, so a call ends once whoever ends it. */
export async function claimEnd(
  tx: Tx,
  options: { callId: string; from: CallsTable['state'][]; reason: NonNullable<CallsTable['end_reason']>; now: number },
): Promise<{ before: CallsTable['state']; row: CallsTable } | undefined> {
  const before = await tx.selectFrom('calls').select('state').where('id', '=', options.callId).where('state', 'in', options.from).executeTakeFirst();
  if (!before) return undefined;
  const row = await tx
    .updateTable('calls')
    .set({ state: 'ended', ended_at: options.now, end_reason: options.reason })
    .where('id', '=', options.callId)
    .where('state', '=', before.state)
    .returningAll()
    .executeTakeFirst();
  return row ? { before: before.state, row } : undefined;
}

/** Calls still ringing past their time, oldest first. */
export async function expiredRinging(db: Kysely<DB>, options: { now: number; limit: number }): Promise<string[]> {
  const rows = await db
    .selectFrom('calls')
    .select('id')
    .where('state', '=', 'ringing')
    .where('ring_expires_at', '<=', options.now)
    .orderBy('ring_expires_at')
    .limit(options.limit)
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Calls that are not over in which this session takes part (through the user indexes); with `leftAt`,
 * only those it has not bound itself to again since (call.resume, on any node).
 */
export async function liveCallsOfSession(db: Kysely<DB>, options: { userId: string; sessionId: string; leftAt?: number }): Promise<string[]> {
  const { userId, sessionId, leftAt } = options;
  const rows = await db
    .selectFrom('calls')
    .select('id')
    .where('state', 'in', LIVE)
    .where((eb) =>
      eb.or([
        eb.and([
          eb('caller_user', '=', userId),
          eb('caller_session', '=', sessionId),
          ...(leftAt === undefined ? [] : [eb.or([eb('caller_bound_at', 'is', null), eb('caller_bound_at', '<=', leftAt)])]),
        ]),
        eb.and([
          eb('callee_user', '=', userId),
          eb('callee_session', '=', sessionId),
          ...(leftAt === undefined ? [] : [eb.or([eb('callee_bound_at', 'is', null), eb('callee_bound_at', '<=', leftAt)])]),
        ]),
      ]),
    )
    .execute();
  return rows.map((r) => r.id);
}

/** Marks that a side's device is back (after a reconnect): the grace of its earlier socket no longer ends the call. */
export async function rebind(tx: Tx, options: { callId: string; side: 'caller' | 'callee'; sessionId: string; now: number }): Promise<CallsTable | undefined> {
  const q = tx.updateTable('calls').where('id', '=', options.callId).where('state', 'in', LIVE);
  const bound =
    options.side === 'caller'
      ? q.set({ caller_bound_at: options.now }).where('caller_session', '=', options.sessionId)
      : q.set({ callee_bound_at: options.now }).where('callee_session', '=', options.sessionId);
  return bound.returningAll().executeTakeFirst();
}

/** Calls not over whose caller's or answering callee's session no longer exists (logged out, terminated, expired). */
export async function liveCallsOfEndedSessions(db: Kysely<DB>, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('calls')
    .select('id')
    .where('state', 'in', LIVE)
    .where((eb) =>
      eb.or([
        eb.not(eb.exists(eb.selectFrom('sessions').select('sessions.id').whereRef('sessions.id', '=', 'calls.caller_session'))),
        eb.and([
          eb('callee_session', 'is not', null),
          eb.not(eb.exists(eb.selectFrom('sessions').select('sessions.id').whereRef('sessions.id', '=', 'calls.callee_session'))),
        ]),
      ]),
    )
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}
