import { describe, it, expect } from 'vitest';
import type { Message } from '@parley/sdk';
import { EMPTY_TIMELINE, applyMessage, mergeMessages, type TimelineState } from './timeline-window.ts';
import { testMessage } from './test-messages.ts';

function message(seq: number, text = `text ${seq}`): Message {
  return testMessage(seq, { text });
}

const loaded = (messages: Message[], over: Partial<TimelineState> = {}): TimelineState => ({ ...EMPTY_TIMELINE, messages, loaded: true, ...over });

describe('mergeMessages()', () => {
  it('orders by position and keeps one copy of each message, the later one', () => {
    const merged = mergeMessages([message(3), message(1)], [message(2), message(3, 'new')]);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(merged[2]!.text).toBe('new');
  });
});

describe('applyMessage()', () => {
  it('appends a new message to a window that reaches the newest', () => {
    expect(applyMessage(loaded([message(1)]), message(2), true).messages.map((m) => m.seq)).toEqual([1, 2]);
  });

  it('does not append to a window that stops before the newest, or is not loaded yet', () => {
    const gap = loaded([message(1)], { hasNewer: true });
    expect(applyMessage(gap, message(9), true)).toBe(gap);
    expect(applyMessage(EMPTY_TIMELINE, message(9), true)).toBe(EMPTY_TIMELINE);
  });

  it('replaces an edited message in place', () => {
    const next = applyMessage(loaded([message(1), message(2)]), message(1, 'edited'), false);
    expect(next.messages.map((m) => m.text)).toEqual(['edited', 'text 2']);
  });

  it('ignores an edit of a message outside the window', () => {
    const s = loaded([message(5)]);
    expect(applyMessage(s, message(1, 'edited'), false)).toBe(s);
  });
});
