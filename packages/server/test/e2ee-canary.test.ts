import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient, ParleyRealtime, type WebSocketFactory } from '@parley/sdk';
import { E2eeDevice } from '@parley/sdk/e2ee';
import { createLogger } from '../src/logger.ts';
import { startTestServer, stores, type TestServer, type TestStore } from './_harness.ts';
import { TestRedis, freePort, freshStore, makeInvite, member, multiNodeUnavailable, startNode, type Member, type Node } from './_multi-node.ts';
import { eventually } from './_realtime.ts';

// The canary scan: random canaries sent in end-to-end encrypted messages, edits and replies are searched for in
// everything the server keeps or emits (its database files and WAL, a PostgreSQL dump, its blob directory, its logs
// at debug level) and in every HTTP body and WebSocket frame that crossed the wire, in the encodings a leak could
// take, and, with two nodes on PostgreSQL + Redis, in every byte that passed between the nodes and Redis. Control
// canaries sent where text is meant to be plaintext are found in the same artefacts, so the scan can fail.

/** The byte patterns a string may take once stored or sent: UTF-8, UTF-16, hex, base64 and base64url at each alignment, JSON escapes. */
export function encodingsOf(text: string): { name: string; bytes: Buffer }[] {
  const utf8 = Buffer.from(text, 'utf8');
  const utf16le = Buffer.from(text, 'utf16le');
  const out = [
    { name: 'utf-8', bytes: utf8 },
    { name: 'utf-16le', bytes: utf16le },
    { name: 'utf-16be', bytes: Buffer.from(utf16le).swap16() },
    { name: 'hex', bytes: Buffer.from(utf8.toString('hex')) },
    { name: 'HEX', bytes: Buffer.from(utf8.toString('hex').toUpperCase()) },
    { name: 'json-escaped', bytes: Buffer.from([...text].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')) },
  ];
  for (let shift = 0; shift < 3; shift++) {
    // The characters that depend on the text's bytes alone, whatever comes before and after it.
    const b64 = Buffer.concat([Buffer.alloc(shift), utf8]).toString('base64');
    const core = b64.slice(Math.ceil((shift * 4) / 3), Math.floor(((shift + utf8.length) * 4) / 3));
    out.push({ name: `base64+${shift}`, bytes: Buffer.from(core) });
    out.push({ name: `base64url+${shift}`, bytes: Buffer.from(core.replace(/\+/g, '-').replace(/\//g, '_')) });
  }
  return out;
}

/** The encodings of `text` found in `haystack`. */
function found(haystack: Buffer, text: string): string[] {
  return encodingsOf(text)
    .filter((e) => haystack.includes(e.bytes))
    .map((e) => e.name);
}

function filesUnder(dir: string): Buffer[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [readFileSync(p)];
  });
}

describe('the canary encodings', () => {
  it('finds a text in each encoding it lists, at every base64 alignment', () => {
    const text = 'canary-0123456789abcdef';
    for (const e of encodingsOf(text)) {
      for (const pad of ['', 'x', 'xy', 'xyz']) {
        const whole = Buffer.concat([Buffer.from(pad), Buffer.from(text)]);
        const encoded = e.name.startsWith('base64')
          ? Buffer.from(e.name.startsWith('base64url') ? whole.toString('base64url') : whole.toString('base64'))
          : e.name === 'utf-8'
            ? whole
            : undefined;
        if (encoded)
          expect(found(encoded, text), `${e.name} after ${pad.length}`).toContain(
            e.name.startsWith('base64') ? `${e.name.split('+')[0]}+${pad.length % 3}` : e.name,
          );
      }
    }
  });
});

describe.each(await stores())('E2EE canary scan on %s', (kind) => {
  let t: TestServer;
  const logs: Buffer[] = [];
  const wire: Buffer[] = [];
  beforeAll(async () => {
    t = await startTestServer(
      kind,
      { PARLEY_WRITE_RATE: '100000/10s' },
      { log: createLogger('debug', { write: (line: string) => void logs.push(Buffer.from(line)) }) },
    );
  });
  afterAll(async () => t?.close());

  /** A client whose every request and response body is kept. */
  async function recordedUser(base: string) {
    const recording: typeof fetch = async (input, init) => {
      if (typeof init?.body === 'string') wire.push(Buffer.from(init.body));
      const res = await fetch(input, init);
      wire.push(Buffer.from(await res.clone().arrayBuffer()));
      return res;
    };
    const user = await t.user(`${base}${randomBytes(3).toString('hex')}`);
    const client = new ParleyClient({ baseUrl: t.url, fetch: recording, userAgent: 'parley-tests' });
    await client.login({ username: user.username, password: user.password, deviceName: `${base}-recorded` });
    return { ...user, client };
  }

  /** A WebSocket that keeps every frame it sends and receives. */
  class RecordingWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      this.on('message', (data: Buffer) => wire.push(Buffer.from(data)));
    }
    override send(data: string, ...rest: unknown[]): void {
      wire.push(Buffer.from(data));
      (super.send as (...a: unknown[]) => void)(data, ...rest);
    }
  }

  it('finds no canary of an encrypted message, edit or reply in the database, the dump, the logs, HTTP bodies or WebSocket frames; the controls are found', async () => {
    const alice = await recordedUser('alice');
    const bob = await recordedUser('bob');
    const live = new ParleyRealtime(bob.client, { WebSocket: RecordingWebSocket as unknown as WebSocketFactory, minBackoffMs: 50, maxBackoffMs: 500 });
    const seen: string[] = [];
    live.on('event', (e) => {
      if (e.log === 'chat' && e.message) seen.push(e.message.id);
    });
    await live.connect();
    const a = await E2eeDevice.setUp(alice.client);
    const b = await E2eeDevice.setUp(bob.client);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await a.chat(chat.id).start();
    await b.sync();

    const canary = () => `canary-${randomBytes(12).toString('hex')}`;
    const secret = { message: canary(), edit: canary(), reply: canary() };
    const first = await a.chat(chat.id).send(`hello ${secret.message}`);
    await a.chat(chat.id).send(`hello again ${secret.edit}`, { editOf: first.id });
    const reply = await b.chat(chat.id).send(`re: ${secret.reply}`, { replyToId: first.id });
    await a.sync();
    await b.sync();
    expect(b.chat(chat.id).timeline()[0]!.text).toBe(`hello again ${secret.edit}`);
    expect(a.chat(chat.id).timeline().at(-1)!.text).toBe(`re: ${secret.reply}`);

    const control = canary();
    const plain = await alice.client.createGroup({ title: 'plain', memberIds: [bob.id] });
    const sent = await alice.client.sendMessage({ chatId: plain.id, clientMessageId: 'control', text: control });
    await eventually(() => seen.includes(reply.id) && seen.includes(sent.id), 5000, 'live delivery');
    live.close();

    const database = Buffer.concat([
      ...filesUnder(t.store.env.PARLEY_DATA_DIR!),
      ...(kind === 'postgres' ? [execFileSync('pg_dump', [t.store.env.DATABASE_URL!], { maxBuffer: 256 * 1024 * 1024 })] : []),
    ]);
    const artefacts = { database, logs: Buffer.concat(logs), wire: Buffer.concat(wire) };
    expect(artefacts.logs.length).toBeGreaterThan(0);
    for (const [where, bytes] of Object.entries(artefacts)) {
      for (const [what, text] of Object.entries(secret)) expect(found(bytes, text), `${what} canary in ${where}`).toEqual([]);
    }
    // The controls: plaintext where it is meant to be, and the logs do record these requests.
    expect(found(artefacts.database, control)).toContain('utf-8');
    expect(found(artefacts.wire, control)).toContain('utf-8');
    expect(found(artefacts.logs, chat.id)).toContain('utf-8');
  });
});

/** A TCP proxy in front of Redis that keeps every byte of every connection, both ways. */
class RecordingProxy {
  readonly bytes: Buffer[] = [];
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async open(targetPort: number): Promise<RecordingProxy> {
    const port = await freePort();
    const server = net.createServer();
    const proxy = new RecordingProxy(server, port);
    server.on('connection', (client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        proxy.sockets.add(from);
        from.on('data', (chunk: Buffer) => {
          proxy.bytes.push(Buffer.from(chunk));
          to.write(chunk);
        });
        from.on('error', () => to.destroy());
        from.on('close', () => {
          proxy.sockets.delete(from);
          to.destroy();
        });
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

const multiNode = await multiNodeUnavailable();

/** Two `parley serve` processes on one PostgreSQL database, talking to Redis through a proxy that records it all. */
describe.skipIf(multiNode !== null)('E2EE canary scan of Redis traffic between two nodes', () => {
  let store: TestStore;
  let redis: TestRedis;
  let proxy: RecordingProxy;
  let invite: string;
  const nodes: Node[] = [];
  const members: Member[] = [];

  beforeAll(async () => {
    [store, redis] = await Promise.all([freshStore('postgres'), TestRedis.start()]);
    proxy = await RecordingProxy.open(redis.port);
    invite = await makeInvite(store);
    const env = { DATABASE_URL: store.env.DATABASE_URL!, REDIS_URL: proxy.url, PARLEY_LOGIN_LIMIT: '1000/60s', PARLEY_WRITE_RATE: '100000/10s' };
    nodes.push(...(await Promise.all(['node-a', 'node-b'].map((n) => startNode(n, env)))));
  }, 180_000);

  afterAll(async () => {
    for (const m of members) m.rt.close();
    for (const n of nodes) n.proc.kill();
    await Promise.all(nodes.map((n) => n.proc.exited));
    await proxy?.close();
    await redis?.stop();
    await store?.drop();
  });

  it('finds no canary of an encrypted message, edit or reply sent from a device on node a to one on node b; the controls are found', async () => {
    const suffix = randomBytes(3).toString('hex');
    const alice = await member(nodes[0]!.url, invite, `alice${suffix}`);
    const bob = await member(nodes[1]!.url, invite, `bob${suffix}`);
    members.push(alice, bob);
    await Promise.all([alice.rt.connect(), bob.rt.connect()]);
    const seenBy = (m: Member) => new Set(m.events.flatMap((e) => (e.log === 'chat' && e.message ? [e.message.id] : [])));

    const a = await E2eeDevice.setUp(alice.client);
    const b = await E2eeDevice.setUp(bob.client);
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await a.chat(chat.id).start();
    await b.sync();

    const canary = () => `canary-${randomBytes(12).toString('hex')}`;
    const secret = { message: canary(), edit: canary(), reply: canary() };
    const first = await a.chat(chat.id).send(`hello ${secret.message}`);
    const edit = await a.chat(chat.id).send(`hello again ${secret.edit}`, { editOf: first.id });
    const reply = await b.chat(chat.id).send(`re: ${secret.reply}`, { replyToId: first.id });
    await a.sync();
    await b.sync();
    expect(b.chat(chat.id).timeline()[0]!.text).toBe(`hello again ${secret.edit}`);
    expect(a.chat(chat.id).timeline().at(-1)!.text).toBe(`re: ${secret.reply}`);

    // The controls: a chat title (the rename's event carries it) and a plaintext message, carried by the same bus.
    const control = { title: canary(), text: canary() };
    const plain = await alice.client.createGroup({ title: 'plain', memberIds: [bob.id] });
    await alice.client.updateChat({ chatId: plain.id, title: control.title });
    const sent = await alice.client.sendMessage({ chatId: plain.id, clientMessageId: 'control', text: control.text });
    // Each crossed from one node to the other, live.
    const renamed = () => bob.events.some((e) => e.log === 'chat' && e.type === 'chat.updated' && e.title === control.title);
    await eventually(
      () => [first.id, edit.id, sent.id].every((id) => seenBy(bob).has(id)) && seenBy(alice).has(reply.id) && renamed(),
      10_000,
      'live delivery across the nodes',
    );

    const traffic = Buffer.concat(proxy.bytes);
    for (const [what, text] of Object.entries(secret)) expect(found(traffic, text), `${what} canary in the Redis traffic`).toEqual([]);
    for (const [what, text] of Object.entries(control)) expect(found(traffic, text), `${what} control in the Redis traffic`).toContain('utf-8');
    // The encrypted messages went through Redis too, as deliveries naming them.
    for (const id of [first.id, edit.id, reply.id]) expect(found(traffic, id)).toContain('utf-8');
  }, 120_000);
});
