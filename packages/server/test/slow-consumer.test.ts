import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CLOSE, WS_PATH, WS_PROTOCOL, WS_TOKEN_PREFIX, type SyncEvent } from '@parley/protocol';
import { startTestServer, type TestServer, type TestUser } from './_harness.ts';
import { eventually } from './_realtime.ts';

/** A raw socket that records every event frame it reads. */
function socketOf(t: TestServer, user: TestUser) {
  const ws = new WebSocket(`${t.url.replace('http', 'ws')}${WS_PATH}`, [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${user.session.accessToken}`]);
  const events: SyncEvent[] = [];
  let closeCode: number | null = null;
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data));
    if (frame.type === 'event') events.push(frame.event);
  });
  ws.on('close', (code) => {
    closeCode = code;
  });
  const open = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, events, open, closeCode: () => closeCode };
}

// The gateway's behaviour does not depend on the store: SQLite keeps this quick.
describe('a slow consumer', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_WS_MAX_BUFFER: '1048576', PARLEY_MESSAGE_RATE: '100000/1s', PARLEY_MAX_MESSAGE_LENGTH: '16000' });
  });
  afterAll(async () => t?.close());

  it('is closed with 4008 without holding up the others, and catches up by sync', async () => {
    const sender = await t.user('sender');
    const reader = await t.user('reader');
    const sleeper = await t.user('sleeper');
    const group = await sender.client.createGroup({ title: 'Flood', memberIds: [reader.id, sleeper.id] });

    const fast = socketOf(t, reader);
    const slow = socketOf(t, sleeper);
    await Promise.all([fast.open, slow.open]);
    // The sleeper's device stops reading: the server's unsent data for it can only grow.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    const text = 'x'.repeat(15_000);
    const total = 500;
    // Sixteen sends in flight at a time, over HTTP.
    let next = 0;
    const sendAll = Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < total) {
          const i = next++;
          await sender.client.sendMessage({ chatId: group.id, text: `${i} ${text}`, clientMessageId: `flood-${i}` });
        }
      }),
    );

    // The server gives up on the stalled socket while the flood goes on...
    const slowCloses = async () => /^parley_ws_slow_consumer_closes_total(\{[^}]*\})? 1$/m.test(await (await fetch(`${t.url}/metrics`)).text());
    await eventually(slowCloses, 30_000, 'the server to close the stalled socket');
    // ...and once the device reads again, it finds the close code that tells it to resync.
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await eventually(() => slow.closeCode() !== null, 10_000, 'the slow socket to close');
    expect(slow.closeCode()).toBe(CLOSE.slowConsumer);

    // The reader got the whole flood.
    await sendAll;
    const created = () => fast.events.filter((e) => e.log === 'chat' && e.chatId === group.id && e.type === 'message.created').length;
    await eventually(() => created() === total, 30_000, 'the reader to get every message');
    const seen = slow.events.filter((e) => e.log === 'chat' && e.chatId === group.id).map((e) => (e as { seq: number }).seq);
    expect(seen.length).toBeLessThan(total);

    // Sync from the last position it has brings exactly the rest.
    const have = seen.length > 0 ? Math.max(...seen) : 0;
    let cursor = { userSeq: 0, chats: { [group.id]: have } as Record<string, number> };
    const rest: number[] = [];
    for (;;) {
      const page = await sleeper.client.getChanges({ ...cursor, limit: 500 });
      for (const e of page.events) if (e.log === 'chat' && e.chatId === group.id) rest.push(e.seq);
      cursor = { userSeq: page.userSeq, chats: page.chats };
      if (!page.hasMore) break;
    }
    const all = [...seen, ...rest];
    expect(new Set(all).size).toBe(all.length);
    const last = Math.max(...all);
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: last }, (_, i) => i + 1).slice(all[0]! - 1));
    fast.ws.close();
  });
});
