import { describe, expect, it } from 'vitest';
import type { Chat, Message } from '@parley/sdk';
import { mutedFor } from './notifier.ts';

const chat = (muted: boolean) => ({ id: 'c', kind: 'group', muted }) as Chat;
const message = (mentions?: string[]) => ({ id: 'm', chatId: 'c', senderId: 'bob', ...(mentions ? { mentions } : {}) }) as Message;

describe('mutedFor()', () => {
  it('keeps a muted chat quiet, except for a message that mentions me', () => {
    expect(mutedFor(chat(true), message(), 'me')).toBe(true);
    expect(mutedFor(chat(true), message(['carol']), 'me')).toBe(true);
    expect(mutedFor(chat(true), message(['carol', 'me']), 'me')).toBe(false);
    expect(mutedFor(chat(false), message(), 'me')).toBe(false);
    expect(mutedFor(chat(true), message(['me']), undefined)).toBe(true);
  });
});
