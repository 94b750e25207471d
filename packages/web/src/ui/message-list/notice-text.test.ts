import { describe, expect, it } from 'vitest';
import type { ChatNotice } from '@parley/sdk';
import { noticeText } from './notice-text.ts';

const names: Record<string, string> = { a: 'Alice', b: 'Bob', c: 'Carol' };
const text = (n: Partial<ChatNotice> & Pick<ChatNotice, 'type'>, myId = 'me') =>
  noticeText({ seq: 1, actorId: 'a', at: '2026-01-01T00:00:00.000Z', ...n }, (id) => names[id] ?? '?', myId);

describe('noticeText()', () => {
  it('says who added, removed, or left', () => {
    expect(text({ type: 'member.added', member: { userId: 'c', role: 'member' } })).toBe('Alice added Carol');
    expect(text({ type: 'member.added', actorId: 'c', member: { userId: 'c', role: 'member' } })).toBe('Carol joined');
    expect(text({ type: 'member.removed', actorId: 'b', member: { userId: 'c', role: null } })).toBe('Bob removed Carol');
    expect(text({ type: 'member.removed', actorId: 'c', member: { userId: 'c', role: null } })).toBe('Carol left');
  });

  it('says "you" for me, "You" at the start', () => {
    expect(text({ type: 'member.added', member: { userId: 'me', role: 'member' } })).toBe('Alice added you');
    expect(text({ type: 'member.removed', actorId: 'me', member: { userId: 'b', role: null } })).toBe('You removed Bob');
    expect(text({ type: 'member.updated', actorId: 'me', member: { userId: 'me', role: 'admin' } })).toBe('You became an admin');
    expect(text({ type: 'member.updated', actorId: 'me', member: { userId: 'me', role: 'member' } })).toBe('You are no longer an admin');
  });

  it('tells promotions, ownership and demotions apart', () => {
    expect(text({ type: 'member.updated', member: { userId: 'b', role: 'admin' } })).toBe('Alice made Bob an admin');
    expect(text({ type: 'member.updated', member: { userId: 'b', role: 'owner' } })).toBe('Alice made Bob the owner');
    expect(text({ type: 'member.updated', member: { userId: 'b', role: 'member' } })).toBe('Alice removed Bob as admin');
  });

  it('names the new title, or the picture changed or removed', () => {
    expect(text({ type: 'chat.updated', title: 'Trip' })).toBe('Alice renamed the chat to “Trip”');
    expect(text({ type: 'chat.updated', avatarFileId: 'f1' })).toBe("Alice changed the chat's picture");
    expect(text({ type: 'chat.updated', avatarFileId: null })).toBe("Alice removed the chat's picture");
  });

  it("lists calls as phones do, from the caller's side or the callee's", () => {
    const call = (outcome: 'completed' | 'declined' | 'missed' | 'busy', callerId = 'me', durationMs: number | null = null) =>
      text({ type: 'call.ended', call: { callId: 'x', callerId, outcome, durationMs } });
    expect(call('completed', 'me', 65_400)).toBe('Outgoing call · 1:05');
    expect(call('completed', 'b', 9_000)).toBe('Incoming call · 0:09');
    expect(call('declined')).toBe('Declined call');
    expect(call('missed')).toBe('Unanswered call');
    expect(call('missed', 'b')).toBe('Missed call');
    expect(call('busy', 'b')).toBe('Missed call');
  });
});
