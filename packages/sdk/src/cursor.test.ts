import { describe, it, expect } from 'vitest';
import type { ChatEvent, SyncCursor, UserEvent } from '@parley/protocol';
import { advance, judge, mergeAnswer, startCursor } from './cursor.ts';

const AT = '2025-01-01T00:00:00.000Z';

function chatEvent(chatId: string, seq: number): ChatEvent {
  return { log: 'chat', type: 'message.created', chatId, seq, actorId: 'u1', at: AT };
}

function userEvent(userSeq: number, fields: Partial<UserEvent> = {}): UserEvent {
  return { log: 'user', type: 'chat.read', userSeq, at: AT, ...fields };
}

const cursor: SyncCursor = { userSeq: 5, chats: { c1: 10, c2: 3 } };

describe('cursor: chat events', () => {
  it('a live event one past the cursor is applied and moves the cursor', () => {
    const event = chatEvent('c1', 11);
    expect(judge(cursor, event, 'live')).toBe('apply');
    expect(advance(cursor, event)).toEqual({ userSeq: 5, chats: { c1: 11, c2: 3 } });
  });

  it('an old position is a duplicate and is dropped', () => {
    expect(judge(cursor, chatEvent('c1', 10), 'live')).toBe('duplicate');
    expect(judge(cursor, chatEvent('c1', 4), 'sync')).toBe('duplicate');
  });

  it('a live event past the next position asks for a sync and is not applied', () => {
    expect(judge(cursor, chatEvent('c1', 12), 'live')).toBe('gap');
  });

  it('a live event of a chat the cursor does not know asks for a sync', () => {
    expect(judge(cursor, chatEvent('c9', 1), 'live')).toBe('gap');
  });

  it("a sync answer's events are taken as they come", () => {
    expect(judge(cursor, chatEvent('c1', 15), 'sync')).toBe('apply');
    expect(judge(cursor, chatEvent('c9', 40), 'sync')).toBe('apply');
    expect(advance(cursor, chatEvent('c9', 40)).chats).toEqual({ c1: 10, c2: 3, c9: 40 });
  });

  it('applying an event leaves the given cursor as it was', () => {
    advance(cursor, chatEvent('c1', 11));
    advance(cursor, userEvent(6, { type: 'chat.left', chatId: 'c1' }));
    expect(cursor).toEqual({ userSeq: 5, chats: { c1: 10, c2: 3 } });
  });
});

describe('cursor: personal log', () => {
  it('the next personal event is applied and moves userSeq', () => {
    const event = userEvent(6);
    expect(judge(cursor, event, 'live')).toBe('apply');
    expect(advance(cursor, event)).toEqual({ userSeq: 6, chats: { c1: 10, c2: 3 } });
  });

  it('an old personal position is a duplicate', () => {
    expect(judge(cursor, userEvent(5), 'live')).toBe('duplicate');
    expect(judge(cursor, userEvent(2), 'sync')).toBe('duplicate');
  });

  it('a personal event past the next position is a gap, live or from a sync answer', () => {
    expect(judge(cursor, userEvent(7), 'live')).toBe('gap');
    expect(judge(cursor, userEvent(7), 'sync')).toBe('gap');
  });

  it('joining a new chat starts it at the join position', () => {
    const next = advance(cursor, userEvent(6, { type: 'chat.joined', chatId: 'c3', seq: 8 }));
    expect(next.chats).toEqual({ c1: 10, c2: 3, c3: 8 });
  });

  it('rejoining starts the chat at the join position', () => {
    const next = advance(cursor, userEvent(6, { type: 'chat.joined', chatId: 'c2', seq: 20 }));
    expect(next.chats.c2).toBe(20);
  });

  it('a join position behind the cursor leaves the chat where it is', () => {
    const next = advance(cursor, userEvent(6, { type: 'chat.joined', chatId: 'c1', seq: 4 }));
    expect(next.chats.c1).toBe(10);
  });

  it('a join without a position starts a new chat at 0', () => {
    const next = advance(cursor, userEvent(6, { type: 'chat.joined', chatId: 'c3' }));
    expect(next.chats.c3).toBe(0);
  });

  it('leaving drops the chat from the cursor', () => {
    const next = advance(cursor, userEvent(6, { type: 'chat.left', chatId: 'c1' }));
    expect(next).toEqual({ userSeq: 6, chats: { c2: 3 } });
  });

  it('a deleted chat is dropped from the cursor', () => {
    const next = advance(cursor, userEvent(6, { type: 'chat.deleted', chatId: 'c2' }));
    expect(next).toEqual({ userSeq: 6, chats: { c1: 10 } });
  });

  it('other personal events leave the chats as they are', () => {
    const next = advance(cursor, userEvent(6, { type: 'chat.hidden', chatId: 'c1', seq: 2 }));
    expect(next.chats).toEqual({ c1: 10, c2: 3 });
  });
});

describe("cursor: a sync answer's cursor", () => {
  it("a sync answer's cursor never moves a chat backwards", () => {
    const next = mergeAnswer(cursor, { userSeq: 5, chats: { c1: 8, c2: 6 } });
    expect(next.chats).toEqual({ c1: 10, c2: 6 });
  });

  it('chats absent from the answer are dropped', () => {
    const next = mergeAnswer(cursor, { userSeq: 5, chats: { c2: 3 } });
    expect(next.chats).toEqual({ c2: 3 });
  });

  it('a chat new in the answer is taken at its position', () => {
    const next = mergeAnswer(cursor, { userSeq: 5, chats: { c1: 10, c2: 3, c4: 2 } });
    expect(next.chats.c4).toBe(2);
  });

  it("userSeq takes the later of the answer's and the cursor's", () => {
    expect(mergeAnswer(cursor, { userSeq: 9, chats: {} }).userSeq).toBe(9);
    expect(mergeAnswer(cursor, { userSeq: 2, chats: {} }).userSeq).toBe(5);
  });
});

describe('cursor: start', () => {
  it('a given cursor is copied, so changes do not reach the caller', () => {
    const given = { userSeq: 2, chats: { c1: 1 } };
    const own = startCursor(given);
    own.chats.c1 = 5;
    expect(given.chats.c1).toBe(1);
    expect(own).toEqual({ userSeq: 2, chats: { c1: 5 } });
  });

  it('without a cursor the client starts from the beginning', () => {
    expect(startCursor()).toEqual({ userSeq: 0, chats: {} });
  });
});
