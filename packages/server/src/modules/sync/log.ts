import type { ChatEvent, UserEvent } from '@parley/protocol';
import type { Tx } from '../../adapters/db/database.ts';
import { precompiled } from '../../adapters/db/precompiled.ts';
import type { ChatEventsTable, MessagesTable, UserEventsTable } from '../../adapters/db/schema.ts';
import type { Services } from '../../services.ts';
import { toMessage } from '../messages/views.ts';
import { iso } from '../sessions/views.ts';

/** The bus topic of events to deliver: `{ userIds, frame }`, the frame serialised once for every recipient. */
export const DELIVER = 'deliver';

export interface Delivery {
  userIds: string[];
  frame: string;
}

type ChatEventType = ChatEvent['type'];
type UserEventType = UserEvent['type'];

interface ChatEventData {
  member?: ChatEvent['member'];
  title?: string;
  read?: ChatEvent['read'];
}

/**
 * Collects the events a transaction records, to publish them only after it commits:
 * nobody hears about a change that did not happen.
 */
export class Outbox {
  private readonly deliveries: { userIds: string[]; event: ChatEvent | UserEvent }[] = [];

  add(userIds: string[], event: ChatEvent | UserEvent): void {
    if (userIds.length > 0) this.deliveries.push({ userIds, event });
  }

  publish(s: Services): void {
    for (const d of this.deliveries) {
      s.bus.publish(DELIVER, { userIds: d.userIds, frame: JSON.stringify({ type: 'event', event: d.event }) } satisfies Delivery);
    }
    this.deliveries.length = 0;
  }
}

/** Takes the next position of a chat. The row lock it holds until commit makes positions commit in order. */
export async function nextChatSeq(tx: Tx, chatId: string): Promise<number> {
  const row = await tx
    .updateTable('chats')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1) }))
    .where('id', '=', chatId)
    .returning('last_seq')
    .executeTakeFirstOrThrow();
  return Number(row.last_seq);
}

export function chatEventView(row: ChatEventsTable, message?: MessagesTable | null): ChatEvent {
  const data: ChatEventData = row.data ? JSON.parse(row.data) : {};
  return {
    log: 'chat',
    type: row.type as ChatEventType,
    chatId: row.chat_id,
    seq: Number(row.seq),
    actorId: row.actor_id,
    at: iso(row.created_at),
    ...(message ? { message: toMessage(message) } : {}),
    ...data,
  };
}

export function userEventView(row: UserEventsTable): UserEvent {
  const data = row.data ? JSON.parse(row.data) : {};
  return {
    log: 'user',
    type: row.type as UserEventType,
    userSeq: Number(row.seq),
    at: iso(row.created_at),
    ...(row.chat_id ? { chatId: row.chat_id } : {}),
    ...data,
  };
}

export interface RecordChatEvent {
  chatId: string;
  type: ChatEventType;
  actorId: string | null;
  /** who receives it live: the members after the change (plus anyone it removes) */
  recipients: string[];
  message?: MessagesTable;
  data?: ChatEventData;
  /** a position already taken with nextChatSeq (message.created uses the message's own) */
  seq?: number;
}

const insertChatEvent = precompiled((db, chatId: string, seq: number, type: string, messageId: string | null, actorId: string | null, data: string | null, createdAt: number) =>
  db.insertInto('chat_events').values({ chat_id: chatId, seq, type, message_id: messageId, actor_id: actorId, data, created_at: createdAt }),
);

/** Appends a change to a chat's log at the next position and queues its delivery. */
export async function recordChatEvent(tx: Tx, out: Outbox, e: RecordChatEvent, now: number): Promise<ChatEvent> {
  const seq = e.seq ?? (await nextChatSeq(tx, e.chatId));
  const row: ChatEventsTable = {
    chat_id: e.chatId,
    seq,
    type: e.type,
    message_id: e.message?.id ?? null,
    actor_id: e.actorId,
    data: e.data ? JSON.stringify(e.data) : null,
    created_at: now,
  };
  await insertChatEvent(tx, row.chat_id, seq, row.type, row.message_id, row.actor_id, row.data, now);
  const event = chatEventView(row, e.message);
  out.add(e.recipients, event);
  return event;
}

export interface RecordUserEvent {
  type: UserEventType;
  chatId?: string;
  seq?: number;
  sessionId?: string;
  muted?: boolean;
}

/** Appends a change to one user's personal log and queues its delivery to their devices. */
export async function recordUserEvent(tx: Tx, out: Outbox, userId: string, e: RecordUserEvent, now: number): Promise<UserEvent> {
  const next = await tx
    .updateTable('users')
    .set((eb) => ({ event_seq: eb('event_seq', '+', 1) }))
    .where('id', '=', userId)
    .returning('event_seq')
    .executeTakeFirstOrThrow();
  const { type, chatId, ...rest } = e;
  const data = Object.keys(rest).length > 0 ? JSON.stringify(rest) : null;
  const row: UserEventsTable = { user_id: userId, seq: Number(next.event_seq), type, chat_id: chatId ?? null, data, created_at: now };
  await tx.insertInto('user_events').values(row).execute();
  const event = userEventView(row);
  out.add([userId], event);
  return event;
}
