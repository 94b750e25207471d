import type { ChatEvent, UserEvent } from '@parley/protocol';
import type { ChatEventsTable, MessagesTable } from '../../adapters/db/schema.ts';
import { appendUserEventRow, insertChatEventRow, nextChatSeq } from './event-log.store.ts';
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

/** Appends a change to a chat's log at the next position and delivers it once committed. */
export async function recordChatEvent(work: Work, e: RecordChatEvent): Promise<ChatEvent> {
  const seq = e.seq ?? (await nextChatSeq(work.tx, e.chatId));
  const row: ChatEventsTable = {
    chat_id: e.chatId,
    seq,
    type: e.type,
    message_id: e.message?.id ?? null,
    actor_id: e.actorId,
    data: e.data ? JSON.stringify(e.data) : null,
    created_at: work.now,
  };
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
  muted?: boolean;
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
