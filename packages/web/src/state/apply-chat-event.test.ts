import { describe, it, expect } from 'vitest';
import type { Chat, ChatEvent, Message } from '@parley/sdk';
import { applyChatEvent, expireTyping, needsRefresh, type ChatsState } from './apply-chat-event.ts';
import { testMessage } from './test-messages.ts';

const ME = 'me';
const BOB = 'bob';

function message(seq: number, senderId: string, over: Partial<Message> = {}): Message {
  return testMessage(seq, { senderId, ...over });
}

function chat(over: Partial<Chat> = {}): Chat {
  return {
    id: 'c1',
    kind: 'group',
    title: 'Team',
    ownerId: ME,
    role: 'owner',
    memberCount: 2,
    lastSeq: 4,
    lastMessage: message(4, BOB),
    readSeq: 4,
    unreadCount: 0,
    muted: false,
    avatarFileId: null,
    encryption: 'none',
    createdAt: '2026-03-01T09:00:00.000Z',
    ...over,
  };
}

function event(type: ChatEvent['type'], seq: number, over: Partial<ChatEvent> = {}): ChatEvent {
  return { log: 'chat', type, chatId: 'c1', seq, actorId: BOB, at: '2026-03-01T10:00:00.000Z', ...over };
}

function state(over: Partial<ChatsState> = {}): ChatsState {
  return { chats: { c1: chat() }, readMarks: {}, typing: {}, ...over };
}

describe('applyChatEvent()', () => {
  it('counts an unread message that mentions me, and only such a one, as a mention', () => {
    const named = applyChatEvent(state(), event('message.created', 5, { message: message(5, BOB, { mentions: [ME] }) }), ME);
    expect(named.chats.c1).toMatchObject({ unreadCount: 1, unreadMentions: 1 });
    const other = applyChatEvent(named, event('message.created', 6, { message: message(6, BOB, { mentions: ['carol'] }) }), ME);
    expect(other.chats.c1).toMatchObject({ unreadCount: 2, unreadMentions: 1 });
  });

  it('counts a message from someone else as unread and shows it as the latest', () => {
    const m = message(5, BOB);
    const next = applyChatEvent(state(), event('message.created', 5, { message: m }), ME);
    expect(next.chats.c1).toMatchObject({ unreadCount: 1, lastSeq: 5, lastMessage: m });
  });

  it('does not count my own message, nor move my read position past what is still unread', () => {
    const s = state({ chats: { c1: chat({ lastSeq: 5, readSeq: 4, unreadCount: 1 }) } });
    const next = applyChatEvent(s, event('message.created', 6, { actorId: ME, message: message(6, ME) }), ME);
    // The server keeps my read position at 4 when I send: Bob's message 5 stays unread until read.
    expect(next.chats.c1).toMatchObject({ unreadCount: 1, readSeq: 4, lastSeq: 6 });
  });

  it('does not count a message I have already read', () => {
    const s = state({ chats: { c1: chat({ readSeq: 9 }) } });
    const next = applyChatEvent(s, event('message.created', 5, { message: message(5, BOB) }), ME);
    expect(next.chats.c1!.unreadCount).toBe(0);
  });

  it('ends the typing of the sender of a message, and only theirs', () => {
    const s = state({ typing: { c1: { [BOB]: 99, carol: 99 } } });
    const next = applyChatEvent(s, event('message.created', 5, { message: message(5, BOB) }), ME);
    expect(next.typing).toEqual({ c1: { carol: 99 } });
  });

  it('keeps the typing map when the sender was not typing', () => {
    const s = state({ typing: { c1: { carol: 99 } } });
    expect(applyChatEvent(s, event('message.created', 5, { message: message(5, BOB) }), ME).typing).toBe(s.typing);
  });

  it('updates the preview when the latest message is edited, not for an older one', () => {
    const edited = message(4, BOB, { text: 'fixed', editedAt: '2026-03-01T10:05:00.000Z' });
    expect(applyChatEvent(state(), event('message.edited', 6, { message: edited }), ME).chats.c1!.lastMessage).toBe(edited);
    const older = message(2, BOB, { text: 'old' });
    expect(applyChatEvent(state(), event('message.edited', 6, { message: older }), ME).chats.c1!.lastMessage?.id).toBe('m4');
  });

  it('renames the chat', () => {
    expect(applyChatEvent(state(), event('chat.updated', 5, { title: 'Crew' }), ME).chats.c1!.title).toBe('Crew');
    const pictured = applyChatEvent(state(), event('chat.updated', 5, { avatarFileId: 'f_new' }), ME).chats.c1!;
    expect([pictured.avatarFileId, pictured.title]).toEqual(['f_new', 'Team']);
  });

  it('records how far a member has read', () => {
    const next = applyChatEvent(state(), event('read.updated', 5, { read: { userId: BOB, seq: 4 } }), ME);
    expect(next.readMarks).toEqual({ c1: { [BOB]: 4 } });
  });

  it('never moves the chat position back', () => {
    const s = state({ chats: { c1: chat({ lastSeq: 10 }) } });
    expect(applyChatEvent(s, event('chat.updated', 7, { title: 'x' }), ME).chats.c1!.lastSeq).toBe(10);
  });

  it('leaves the state as it was for a chat it does not have', () => {
    const s = state();
    expect(applyChatEvent(s, event('message.created', 1, { chatId: 'other', message: message(1, BOB, { chatId: 'other' }) }), ME)).toBe(s);
  });

  it('does not change the state it is given', () => {
    const s = state();
    const before = structuredClone(s);
    applyChatEvent(s, event('message.created', 5, { message: message(5, BOB) }), ME);
    expect(s).toEqual(before);
  });
});

describe('needsRefresh()', () => {
  it('asks for a chat it does not have', () => {
    expect(needsRefresh(state(), event('message.created', 1, { chatId: 'other' }), ME)).toBe(true);
  });

  it('asks again when members change', () => {
    expect(needsRefresh(state(), event('member.added', 5, { member: { userId: 'carol', role: 'member' } }), ME)).toBe(true);
  });

  it('asks again when I read further on another device', () => {
    expect(needsRefresh(state(), event('read.updated', 5, { read: { userId: ME, seq: 5 } }), ME)).toBe(true);
    expect(needsRefresh(state(), event('read.updated', 5, { read: { userId: BOB, seq: 5 } }), ME)).toBe(false);
  });

  it('does not ask for a message it can apply', () => {
    expect(needsRefresh(state(), event('message.created', 5, { message: message(5, BOB) }), ME)).toBe(false);
  });
});

describe('expireTyping()', () => {
  it('drops expired marks and chats left without any', () => {
    expect(expireTyping({ c1: { a: 100, b: 300 }, c2: { c: 100 } }, 200)).toEqual({ c1: { b: 300 } });
  });
});
