import type { ChatEvent, UserEvent } from '@parley/protocol';
import type { ChatEventsTable, MessagesTable } from '../../adapters/db/schema.ts';
import { appendUserEventRow, appendUserEventRows, insertChatEventRow, insertChatEventRows, nextChatSeq } from './event-log.store.ts';
import type { Work } from './unit-of-work.ts';
import { chatEventView, userEventView, type ChatEventData } from './views.ts';

export interface RecordChatEvent {
  chatId: string;
  type: ChatEvent['type'];
  actorId: string | null;
  /** who receives it live: the members after the change (plus anyone it removes) */
  recipients: string[];
  message?: MessagesTable;
  data?: ChatEventData;
  /** a position already taken with nextChatSeq (message.created uses the message's own) */
  seq?: number;
}

function chatEventRow(work: Work, e: RecordChatEvent, seq: number): ChatEventsTable {
  return {
    chat_id: e.chatId,
    seq,
    type: e.type,
    message_id: e.message?.id ?? null,
    actor_id: e.actorId,
    data: e.data ? JSON.stringify(e.data) : null,
    created_at: work.now,
  };
}

/**
 * Appends many changes to one chat's log at positions already taken (takeChatSeqs), in a few
 * statements, and delivers each once committed: for adding hundreds of members at once.
 */
export async function recordChatEvents(work: Work, events: (RecordChatEvent & { seq: number })[]): Promise<void> {
  const rows = events.map((e) => chatEventRow(work, e, e.seq));
  await insertChatEventRows(work.tx, rows);
  rows.forEach((row, i) => work.deliver(events[i]!.recipients, chatEventView(row, events[i]!.message)));
}

/** Appends a change to a chat's log at the next position and delivers it once committed. */
export async function recordChatEvent(work: Work, e: RecordChatEvent): Promise<ChatEvent> {
  const row = chatEventRow(work, e, e.seq ?? (await nextChatSeq(work.tx, e.chatId)));
  await insertChatEventRow(work.tx, row);
  const event = chatEventView(row, e.message);
  work.deliver(e.recipients, event);
  return event;
}

export interface RecordUserEvent {
  type: UserEvent['type'];
  chatId?: string;
  seq?: number;
  sessionId?: string;
  deviceId?: string;
  version?: number;
  muted?: boolean;
}

/** Appends one change to each of several users' logs (one per user) and delivers each once committed. */
export async function recordUserEvents(work: Work, events: { userId: string; e: RecordUserEvent }[]): Promise<void> {
  const rows = await appendUserEventRows(
    work.tx,
    events.map(({ userId, e }) => {
      const { type, chatId, ...rest } = e;
      return { user_id: userId, type, chat_id: chatId ?? null, data: Object.keys(rest).length > 0 ? JSON.stringify(rest) : null, created_at: work.now };
    }),
  );
  for (const row of rows) work.deliver([row.user_id], userEventView(row));
}

/** Appends a change to one user's personal log and delivers it to their devices once committed. */
export async function recordUserEvent(work: Work, userId: string, e: RecordUserEvent): Promise<UserEvent> {
  const { type, chatId, ...rest } = e;
  const data = Object.keys(rest).length > 0 ? JSON.stringify(rest) : null;
  const row = await appendUserEventRow(work.tx, { user_id: userId, type, chat_id: chatId ?? null, data, created_at: work.now });
  const event = userEventView(row);
  work.deliver([userId], event);
  return event;
}
