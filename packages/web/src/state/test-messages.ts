import type { Message } from '@parley/sdk';

/** A message of chat c1 at position `seq`, from bob unless `over` says otherwise: for the state tests. */
export function testMessage(seq: number, over: Partial<Message> = {}): Message {
  return {
    id: `m${seq}`,
    chatId: 'c1',
    seq,
    senderId: 'bob',
    kind: 'text',
    text: `text ${seq}`,
    clientMessageId: `k${seq}`,
    replyToId: null,
    createdAt: '2026-03-01T10:00:00.000Z',
    editedAt: null,
    deletedAt: null,
    ...over,
  };
}
