import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient, ParleyRealtime, type WebSocketFactory } from '@parley/sdk';
import { E2eeDevice } from '@parley/sdk/e2ee';
import { createLogger } from '../src/logger.ts';
import { startTestServer, stores, type TestServer } from './_harness.ts';
import { eventually } from './_realtime.ts';

// The canary scan: random canaries sent in end-to-end encrypted messages, edits and replies are searched for in
// everything the server keeps or emits (its database files and WAL, a PostgreSQL dump, its blob directory, its logs
// at debug level) and in every HTTP body and WebSocket frame that crossed the wire, in the encodings a leak could
// take. Control canaries sent where text is meant to be plaintext are found in the same artefacts, so the scan can fail.

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
