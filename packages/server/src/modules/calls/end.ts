import type { CallEndReason, CallOutcome, CallRecord } from '@parley/protocol';
import type { CallsTable } from '../../adapters/db/schema.ts';
import { memberIds } from '../chats/chats.store.ts';
import type { Services } from '../services.ts';
import { recordChatEvent } from '../sync/event-log.ts';
import { commit } from '../sync/unit-of-work.ts';
import { claimEnd, LIVE } from './calls.store.ts';

/** How a call reads in the chat's history, from the state it ended in and why. */
export function outcomeOf(before: CallsTable['state'], row: CallsTable): CallRecord {
  let outcome: CallOutcome;
  if (before === 'active') outcome = 'completed';
  else if (row.end_reason === 'declined' || row.end_reason === 'busy') outcome = row.end_reason;
  // Not answered: timed out, or the caller gave up (or went away) first.
  else outcome = 'missed';
  const durationMs =
    outcome === 'completed' && row.answered_at !== null && row.ended_at !== null ? Math.max(0, Number(row.ended_at) - Number(row.answered_at)) : null;
  return { callId: row.id, callerId: row.caller_user, outcome, durationMs };
}

export interface EndCall {
  callId: string;
  reason: CallEndReason;
  /** who ended it; null for the server (missed, gone) */
  by: string | null;
  /** the states it may end from (default: ringing or active) */
  from?: CallsTable['state'][];
}

/**
 * Ends a call once, whoever else tries at the same moment (a compare-and-set on its row), writes
 * `call.ended` in the chat's log in the same transaction, and then tells every device of both
 * users. Returns the row as ended, or undefined when it was over already (or not in `from`).
 */
export async function endCall(s: Services, e: EndCall): Promise<CallsTable | undefined> {
  const ended = await commit(s, async (work) => {
    const claimed = await claimEnd(work.tx, { callId: e.callId, from: e.from ?? LIVE, reason: e.reason, now: work.now });
    if (!claimed) return undefined;
    const { row } = claimed;
    // Both people see it in their history, and through sync, whether or not they were online.
    await recordChatEvent(work, {
      chatId: row.chat_id,
      type: 'call.ended',
      actorId: e.by,
      recipients: await memberIds(work.tx, row.chat_id),
      data: { call: outcomeOf(claimed.before, row) },
    });
    return row;
  });
  if (!ended) return undefined;
  s.bus.publish('deliver', {
    userIds: [ended.caller_user, ended.callee_user],
    call: { type: 'call.ended', callId: ended.id, chatId: ended.chat_id, reason: e.reason, by: e.by },
  });
  return ended;
}
