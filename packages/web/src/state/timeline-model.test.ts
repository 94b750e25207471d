import { describe, it, expect } from 'vitest';
import type { ChatEvent, ChatNotice, Message, ParleyClient } from '@parley/sdk';
import { TimelineModel } from './timeline-model.ts';
import { testMessage } from './test-messages.ts';

function message(seq: number, senderId = 'bob', text = `text ${seq}`): Message {
  return testMessage(seq, { senderId, text });
}

function created(m: Message): ChatEvent {
  return { log: 'chat', type: 'message.created', chatId: m.chatId, seq: m.seq, actorId: m.senderId, at: m.createdAt, message: m };
}

type Page = { messages: Message[]; hasMore: boolean; notices?: ChatNotice[] };

/** A client whose history pages are answered by the test, one at a time. */
function slowClient() {
  const asked: ((page: Page) => void)[] = [];
  const client = { listMessages: () => new Promise<Page>((resolve) => asked.push(resolve)) } as unknown as ParleyClient;
  return { client, answer: (page: Page) => asked.shift()!({ notices: [], ...page }) };
}

describe('TimelineModel', () => {
  it('keeps messages that arrive while the first page is on its way, though the page was read before them', async () => {
    const { client, answer } = slowClient();
    const model = new TimelineModel(client, () => {});
    const loading = model.loadLatest('c1');
    // The page was read when the chat had messages 1 and 2; my queued sends are stored as 3 and 4
    // and their event and ack come back before the page does.
    model.applyEvent(created(message(3, 'me')));
    model.addSent(message(4, 'me'));
    answer({ messages: [message(1), message(2)], hasMore: false });
    await loading;
    expect(model.timeline('c1').value.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it('keeps an edit that arrives while the page is on its way', async () => {
    const { client, answer } = slowClient();
    const model = new TimelineModel(client, () => {});
    const loading = model.loadLatest('c1');
    model.applyEvent({ ...created(message(2, 'bob', 'edited')), type: 'message.edited' });
    answer({ messages: [message(1), message(2)], hasMore: false });
    await loading;
    expect(model.timeline('c1').value.messages.map((m) => m.text)).toEqual(['text 1', 'edited']);
  });

  it('leaves a new message out of a window that stops before the newest message', async () => {
    const { client, answer } = slowClient();
    const model = new TimelineModel(client, () => {});
    const loading = model.loadAround('c1', 1);
    model.applyEvent(created(message(9)));
    answer({ messages: [message(1)], hasMore: true });
    answer({ messages: [message(2)], hasMore: true });
    await loading;
    expect(model.timeline('c1').value).toMatchObject({ hasNewer: true, messages: [{ seq: 1 }, { seq: 2 }] });
  });

  it('shows a message that arrives while the newer page that reaches the end is on its way', async () => {
    const { client, answer } = slowClient();
    const model = new TimelineModel(client, () => {});
    const first = model.loadAround('c1', 1);
    answer({ messages: [message(1)], hasMore: false });
    answer({ messages: [message(2)], hasMore: true });
    await first;
    const newer = model.loadMore('c1', 'newer');
    model.applyEvent(created(message(4)));
    answer({ messages: [message(3)], hasMore: false });
    await newer;
    expect(model.timeline('c1').value.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it("keeps a service line that arrives while a page is on its way, once, and merges the pages' lines", async () => {
    const { client, answer } = slowClient();
    const model = new TimelineModel(client, () => {});
    const renamed = (seq: number): ChatNotice => ({ type: 'chat.updated', seq, actorId: 'bob', at: new Date(seq).toISOString(), title: `t${seq}` });
    const loading = model.loadLatest('c1');
    model.applyEvent({ log: 'chat', type: 'chat.updated', chatId: 'c1', seq: 5, actorId: 'bob', at: new Date(5).toISOString(), title: 't5' });
    answer({ messages: [message(2)], notices: [renamed(3)], hasMore: true });
    await loading;
    expect(model.timeline('c1').value.notices.map((n) => n.seq)).toEqual([3, 5]);
    const older = model.loadMore('c1', 'older');
    answer({ messages: [message(1)], notices: [renamed(1)], hasMore: false });
    await older;
    expect(model.timeline('c1').value.notices.map((n) => n.seq)).toEqual([1, 3, 5]);
  });
});
