import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors.ts';
import { isFrameType, validateFrameBody } from './frame-table.ts';

function messageOf(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError && err.code === 'invalid_request') return err.message;
    throw err;
  }
  return 'valid';
}

describe('frame table', () => {
  it('isFrameType() knows the client frames and nothing else', () => {
    for (const type of ['send', 'sync', 'read', 'typing', 'ping']) expect(isFrameType(type)).toBe(true);
    for (const type of ['hello', 'ack', 'toString', '__proto__', '']) expect(isFrameType(type)).toBe(false);
  });

  it('validateFrameBody() accepts a send body with the chat id beside the HTTP body fields', () => {
    expect(messageOf(() => validateFrameBody('send', { chatId: 'c1', text: 'hi', clientMessageId: 'm1' }))).toBe('valid');
  });

  it('validateFrameBody() rejects a field the operation does not name', () => {
    expect(messageOf(() => validateFrameBody('send', { chatId: 'c1', text: 'hi', clientMessageId: 'm1', extra: 1 }))).toContain('extra');
  });

  it('validateFrameBody() names a missing field', () => {
    expect(messageOf(() => validateFrameBody('send', { chatId: 'c1', text: 'hi' }))).toContain('clientMessageId');
  });

  it('validateFrameBody() holds sync to getChanges rules', () => {
    expect(messageOf(() => validateFrameBody('sync', { userSeq: 0, chats: { c1: 4 }, limit: 10 }))).toBe('valid');
    expect(messageOf(() => validateFrameBody('sync', { userSeq: 0, limit: 100_000 }))).toContain('limit');
    expect(messageOf(() => validateFrameBody('sync', { userSeq: -1 }))).toContain('userSeq');
  });

  it('validateFrameBody() rejects a chat id that is not an id', () => {
    expect(messageOf(() => validateFrameBody('typing', { chatId: '../etc' }))).toContain('chatId');
    expect(messageOf(() => validateFrameBody('read', { chatId: 'c1', seq: '3' }))).toContain('seq');
  });
});
