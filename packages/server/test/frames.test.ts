import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, stores, type TestServer } from './_harness.ts';
import { rawSocket } from './_ws.ts';

describe.each(await stores())('socket frames on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(async () => t?.close());

  it('answers bad frames with an error frame, keeps the socket open and writes nothing', async () => {
    const u = await t.user('framer');
    const self = (await u.client.listChats()).chats[0]!;
    const s = await rawSocket(t, u);
    const errorsBefore = () => s.frames.filter((f) => f.type === 'error').length;

    const raw: [string | Buffer, string][] = [
      ['not json', 'invalid_json'],
      ['{"no":"type"}', 'invalid_request'],
      ['[1,2,3]', 'invalid_request'],
      ['"send"', 'invalid_request'],
      ['null', 'invalid_request'],
      [Buffer.from([1, 2, 3]), 'invalid_request'],
    ];
    for (const [frame, code] of raw) {
      const before = errorsBefore();
      s.ws.send(frame, { binary: Buffer.isBuffer(frame) });
      await s.waitFor(() => errorsBefore() > before);
      expect(s.frames.filter((f) => f.type === 'error').at(-1)).toMatchObject({ error: { code } });
    }

    const requests: [Record<string, unknown>, string][] = [
      [{ type: 'launch' }, 'invalid_request'],
      [{ type: 'send', chatId: self.id, text: 'x' }, 'invalid_request'],
      [{ type: 'send', chatId: self.id, text: 'x', clientMessageId: 'ok', extra: true }, 'invalid_request'],
      [{ type: 'send', chatId: 42, text: 'x', clientMessageId: 'ok' }, 'invalid_request'],
      [{ type: 'send', chatId: self.id, text: 7, clientMessageId: 'ok' }, 'invalid_request'],
      [{ type: 'send', chatId: self.id, text: 'x', clientMessageId: 'no spaces allowed' }, 'invalid_request'],
      [{ type: 'send', chatId: self.id, text: '', clientMessageId: 'ok' }, 'invalid_request'],
      [{ type: 'send', chatId: '../etc/passwd', text: 'x', clientMessageId: 'ok' }, 'invalid_request'],
      [{ type: 'read', chatId: self.id, seq: -1 }, 'invalid_request'],
      [{ type: 'read', chatId: self.id, seq: '3' }, 'invalid_request'],
      [{ type: 'sync', userSeq: 'zero' }, 'invalid_request'],
      [{ type: 'sync', userSeq: 0, chats: { [self.id]: -5 } }, 'invalid_request'],
      [{ type: 'sync', userSeq: 0, limit: 100_000 }, 'invalid_request'],
    ];
    for (const [frame, code] of requests) {
      const reply = await s.request(frame as { type: string });
      expect(reply, JSON.stringify(frame)).toMatchObject({ type: 'error', error: { code, message: expect.any(String) } });
    }
    // A typing frame without a chat is refused too.
    const before = errorsBefore();
    s.send({ type: 'typing' });
    await s.waitFor(() => errorsBefore() > before);

    // Still open and working, and nothing was written.
    expect(await s.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect((await u.client.getChat({ chatId: self.id })).lastSeq).toBe(0);
    const ok = await s.request({ type: 'send', chatId: self.id, text: 'fine', clientMessageId: 'ok' });
    expect(ok).toMatchObject({ type: 'ack', message: { seq: 1, text: 'fine' } });
    s.close();
  });

  it('closes a socket that sends a frame over 64 KiB, and the client can come back', async () => {
    const u = await t.user('bigframe');
    const s = await rawSocket(t, u);
    s.send({ type: 'send', chatId: 'x', text: 'y'.repeat(70 * 1024), clientMessageId: 'big' });
    expect(await s.closed).toBe(1009);
    const again = await rawSocket(t, u);
    expect(await again.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    again.close();
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });
});
