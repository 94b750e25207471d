import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { rawSocket } from './_ws.ts';

describe.each(await stores())('numbers out of range are a 400, never a 5xx (%s)', (kind) => {
  let t: TestServer;
  let ann: TestUser;
  let chatId: string;
  beforeAll(async () => {
    t = await startTestServer(kind);
    ann = await t.user('ann');
    chatId = (await ann.client.listChats()).chats.find((c) => c.kind === 'self')!.id;
  });
  afterAll(() => t?.close());

  const send = (method: string, path: string, raw?: string) =>
    fetch(`${t.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ann.client.session!.accessToken}`, ...(raw ? { 'content-type': 'application/json' } : {}) },
      body: raw,
    }).then(async (res) => ({ status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code }));

  it.each(['1e999', '-1e999', '1e20', '9007199254740992'])('a sync cursor of %s', async (n) => {
    expect(await send('POST', '/sync', `{"userSeq": ${n}}`)).toEqual({ status: 400, code: 'invalid_request' });
    expect(await send('POST', '/sync', `{"userSeq": 0, "chats": {"${chatId}": ${n}}}`)).toEqual({ status: 400, code: 'invalid_request' });
  });

  it('a read position or a history bound too large to store', async () => {
    expect(await send('POST', `/chats/${chatId}/read`, '{"seq": 1e300}')).toEqual({ status: 400, code: 'invalid_request' });
    expect(await send('GET', `/chats/${chatId}/messages?before=100000000000000000000`)).toEqual({ status: 400, code: 'invalid_request' });
  });

  it('a sync frame of 1e999 gets an invalid_request frame, and the socket goes on', async () => {
    const socket = await rawSocket(t, ann);
    socket.ws.send('{"type": "sync", "id": "big", "userSeq": 1e999}');
    const reply = await socket.waitFor((f) => f.id === 'big');
    expect(reply).toMatchObject({ type: 'error', error: { code: 'invalid_request' } });
    expect((await socket.request({ type: 'ping' })).type).toBe('pong');
    socket.close();
  });
});
