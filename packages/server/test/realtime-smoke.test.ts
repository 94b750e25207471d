import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ParleyClient, ParleyRealtime, type ConnectionState, type SyncEvent, type WebSocketFactory } from '@parley/sdk';
import { startTestServer, stores, type TestServer } from './_harness.ts';
import { eventually, realtimeFor } from './_realtime.ts';

/**
 * A TCP relay to the server that can turn its open connections into black holes: nothing gets
 * through either way and nothing closes, as when a laptop sleeps or a NAT forgets a connection.
 * Connections made afterwards go through normally.
 */
class Relay {
  private readonly frozen = new Set<net.Socket>();
  private readonly open = new Set<net.Socket>();
  private constructor(private readonly server: net.Server) {}

  static async to(port: number): Promise<Relay> {
    const server = net.createServer();
    const relay = new Relay(server);
    server.on('connection', (client) => relay.forward(client, port));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  private forward(client: net.Socket, port: number): void {
    const upstream = net.connect(port, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.open.add(from);
      from.on('error', () => {});
      from.on('data', (d) => !this.frozen.has(client) && to.write(d));
      from.on('close', () => {
        this.open.delete(from);
        if (!this.frozen.has(client)) to.destroy();
      });
    }
  }

  freeze(): void {
    for (const s of this.open) this.frozen.add(s);
  }

  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

describe.each(await stores())('realtime chat on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind);
  });
  afterAll(async () => t?.close());

  it('delivers a private chat live and resyncs an offline device', async () => {
    const alice = await t.user('alice');
    const bob = await t.user('bob');
    const a = realtimeFor(alice);
    const b = realtimeFor(bob);
    await a.rt.connect();
    await b.rt.connect();
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    expect(chat).toMatchObject({ kind: 'private', title: 'Bob', peer: { username: 'bob' } });
    const sent = await a.rt.send({ chatId: chat.id, text: 'hello bob' }).acked;
    expect(sent).toMatchObject({ seq: 1, text: 'hello bob', senderId: alice.id });
    await eventually(() => b.events.some((e) => e.log === 'chat' && e.type === 'message.created' && e.message?.text === 'hello bob'), 5000, 'bob receives');
    b.rt.close();
    const m2 = await alice.client.sendMessage({ chatId: chat.id, text: 'while you were away', clientMessageId: 'c2' });
    await alice.client.editMessage({ chatId: chat.id, messageId: m2.id, text: 'edited away' });
    await alice.client.deleteMessage({ chatId: chat.id, messageId: sent.id });
    const before = b.events.length;
    await b.rt.connect();
    const missed = b.events.slice(before).filter((e) => e.log === 'chat');
    expect(missed.map((e) => (e as { type: string }).type)).toEqual(['message.created', 'message.edited', 'message.deleted']);
    const list = await bob.client.listMessages({ chatId: chat.id });
    expect(list.messages.map((m) => m.text)).toEqual([null, 'edited away']);
    const chats = await bob.client.listChats();
    expect(chats.chats.map((c) => c.kind).sort()).toEqual(['private', 'self']);
    expect(chats.chats.find((c) => c.kind === 'private')!.unreadCount).toBe(1);
    a.rt.close();
    b.rt.close();
  });
});

describe.each(await stores())('a connection that goes silent on %s', (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, { PARLEY_WS_HEARTBEAT: '1' });
  });
  afterAll(async () => t?.close());

  it('is given up on after about twice the heartbeat, and the client reconnects and gets what it missed', async () => {
    const alice = await t.user('alice');
    const bob = await t.user('bob');
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const relay = await Relay.to(Number(new URL(t.url).port));
    const rt = new ParleyRealtime(new ParleyClient({ baseUrl: relay.url, session: bob.client.session }), {
      WebSocket: WebSocket as unknown as WebSocketFactory,
      minBackoffMs: 50,
      maxBackoffMs: 200,
    });
    const events: SyncEvent[] = [];
    const states: ConnectionState[] = [];
    rt.on('event', (e) => events.push(e));
    rt.on('state', (s) => states.push(s));
    await rt.connect();

    relay.freeze();
    const frozenAt = Date.now();
    const missed = await alice.client.sendMessage({ chatId: chat.id, text: 'into the void', clientMessageId: 'v1' });
    await eventually(() => states.at(-1) !== 'online', 6000, 'the client giving up on the silent socket');
    // Heartbeat 1 s: pinged after 1 s of silence, given up after 2 s (checked every half second).
    const gaveUpAfter = Date.now() - frozenAt;
    expect(gaveUpAfter).toBeGreaterThanOrEqual(1900);
    expect(gaveUpAfter).toBeLessThan(4500);
    await eventually(() => events.some((e) => e.log === 'chat' && e.message?.id === missed.id), 6000, 'the missed message after reconnecting');
    expect(rt.state).toBe('online');
    rt.close();
    await relay.close();
  });
});
