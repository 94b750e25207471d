import { describe, it, expect } from 'vitest';
import type { Message, PendingMessage } from '@parley/sdk';
import { buildRows } from './build-rows.ts';

function message(seq: number, createdAt: string, over: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    chatId: 'c1',
    seq,
    senderId: 'bob',
    kind: 'text',
    text: `text ${seq}`,
    clientMessageId: `k${seq}`,
    replyToId: null,
    createdAt,
    editedAt: null,
    deletedAt: null,
    ...over,
  };
}

const pending = (id: string): PendingMessage => ({ clientMessageId: id, chatId: 'c1', text: 'on its way', state: 'pending' });

// Local noon, so the day does not depend on the time zone the tests run in.
const day = (y: number, m: number, d: number) => new Date(y, m - 1, d, 12).toISOString();

describe('buildRows()', () => {
  it('puts a date separator before the first message and between days', () => {
    const rows = buildRows({ messages: [message(1, day(2024, 5, 1)), message(2, day(2024, 5, 1)), message(3, day(2024, 5, 2))], hasNewer: false }, [], 'me');
    expect(rows.map((r) => r.kind)).toEqual(['day', 'msg', 'msg', 'day', 'msg']);
  });

  it('gives every row a distinct key', () => {
    const rows = buildRows({ messages: [message(1, day(2024, 5, 1)), message(2, day(2024, 5, 2))], hasNewer: false }, [pending('p1')], 'me');
    expect(new Set(rows.map((r) => r.key)).size).toBe(rows.length);
  });

  it('labels separators with the day', () => {
    const [first] = buildRows({ messages: [message(1, new Date().toISOString())], hasNewer: false }, [], 'me');
    expect(first).toMatchObject({ kind: 'day', label: 'Today' });
  });

  it('shows my pending messages after the last message', () => {
    const rows = buildRows({ messages: [message(1, day(2024, 5, 1))], hasNewer: false }, [pending('p1')], 'me');
    expect(rows.at(-1)).toMatchObject({ kind: 'pending', key: 'p-p1' });
  });

  it('hides a pending message once it came back as a message of mine', () => {
    const echoed = message(2, day(2024, 5, 1), { senderId: 'me', clientMessageId: 'p1' });
    const rows = buildRows({ messages: [echoed], hasNewer: false }, [pending('p1')], 'me');
    expect(rows.map((r) => r.kind)).toEqual(['day', 'msg']);
  });

  it("keeps a pending message when someone else's message has the same client id", () => {
    const other = message(2, day(2024, 5, 1), { senderId: 'bob', clientMessageId: 'p1' });
    expect(buildRows({ messages: [other], hasNewer: false }, [pending('p1')], 'me').at(-1)?.kind).toBe('pending');
  });

  it('leaves pending messages out while newer messages are not loaded', () => {
    const rows = buildRows({ messages: [message(1, day(2024, 5, 1))], hasNewer: true }, [pending('p1')], 'me');
    expect(rows.some((r) => r.kind === 'pending')).toBe(false);
  });

  it('returns no rows for an empty chat', () => {
    expect(buildRows({ messages: [], hasNewer: false }, [], 'me')).toEqual([]);
  });

  it('puts the unread line before the first message from someone else after the read position', () => {
    const ms = [message(1, day(2024, 5, 1)), message(2, day(2024, 5, 1), { senderId: 'me' }), message(3, day(2024, 5, 1)), message(4, day(2024, 5, 1))];
    const rows = buildRows({ messages: ms, hasNewer: false }, [], 'me', 1);
    expect(rows.map((r) => (r.kind === 'msg' ? r.m.seq : r.kind))).toEqual(['day', 1, 2, 'unread', 3, 4]);
  });

  it('has no unread line when nothing was unread, or nothing loaded is', () => {
    const ms = [message(1, day(2024, 5, 1)), message(2, day(2024, 5, 1))];
    expect(buildRows({ messages: ms, hasNewer: false }, [], 'me').some((r) => r.kind === 'unread')).toBe(false);
    expect(buildRows({ messages: ms, hasNewer: false }, [], 'me', 2).some((r) => r.kind === 'unread')).toBe(false);
  });

  it('puts service lines between the messages they came between, with the day they happened', () => {
    const notice = (seq: number, at: string) => ({ type: 'member.added' as const, seq, actorId: 'a', at, member: { userId: 'c', role: 'member' as const } });
    const ms = [message(2, day(2024, 5, 1)), message(4, day(2024, 5, 2))];
    const rows = buildRows(
      { messages: ms, notices: [notice(1, day(2024, 5, 1)), notice(3, day(2024, 5, 2)), notice(5, day(2024, 5, 3))], hasNewer: false },
      [],
      'me',
    );
    expect(rows.map((r) => (r.kind === 'msg' ? `m${r.m.seq}` : r.kind === 'notice' ? `n${r.n.seq}` : r.kind))).toEqual([
      'day',
      'n1',
      'm2',
      'day',
      'n3',
      'm4',
      'day',
      'n5',
    ]);
  });
});
