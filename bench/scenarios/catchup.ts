// Catch-up: a second session of one user syncs to the present and goes offline; other members
// write n messages into its chats; the device then calls getChanges (limit 5 000) until hasMore
// is false. The floor: the same rows read straight from the SQLite file and serialised to JSON.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import SQLite from 'better-sqlite3';
import WebSocket from 'ws';
import { ParleyClient, WS_PROTOCOL, WS_TOKEN_PREFIX, type ClientFrame, type ServerFrame, type SyncCursor } from '@parley/sdk';
import { log } from '../results.ts';
import { round, type CatchupRow } from '../rows.ts';
import { makeText, nowMs, type BenchUser } from '../shared.ts';
import { PASSWORD, username } from '../setup.ts';
import type { ParleyInstance } from '../targets.ts';

const PAGE = 5000;

export async function catchup(p: ParleyInstance, { users, changes: n }: { users: BenchUser[]; changes: number }): Promise<CatchupRow> {
  // The reader's device: a session of its own, fully synced, then offline.
  const reader = users[0]!;
  const device = new ParleyClient({ baseUrl: p.url });
  await device.login({ username: username(reader.index), password: PASSWORD, deviceName: 'catch-up device' });
  const { cursor } = await syncAll(device, { userSeq: 0, chats: {} });
  // Other members write n messages into the reader's chats while it is away.
  const t0 = Date.now();
  await writeWhileAway(p, { users, reader, n });
  log(`catch-up: wrote ${n} messages in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await sleep(1000);
  const s = nowMs();
  const r = await syncAll(device, cursor);
  const ms = round(nowMs() - s, 1);
  const rawMs = p.store === 'sqlite' ? rawCatchupMs(p, { chats: reader.chats, cursor }) : null;
  log(`catch-up: ${r.events} events in ${r.calls} getChanges calls, ${ms} ms`);
  return {
    kind: 'catchup',
    target: 'parley',
    store: p.store,
    changes: n,
    events: r.events,
    calls: r.calls,
    ms,
    rawSqliteMs: rawMs,
    ratio: rawMs ? round(ms / rawMs, 1) : null,
  };
}

async function syncAll(client: ParleyClient, from: SyncCursor): Promise<{ cursor: SyncCursor; events: number; calls: number }> {
  let cursor = from;
  let events = 0;
  let calls = 0;
  for (;;) {
    const r = await client.getChanges({ userSeq: cursor.userSeq, chats: cursor.chats, limit: PAGE });
    calls++;
    events += r.events.length;
    cursor = { userSeq: r.userSeq, chats: r.chats };
    if (!r.hasMore) return { cursor, events, calls };
  }
}

/** n messages spread over the reader's chats, each chat's sent by another of its members. */
async function writeWhileAway(p: ParleyInstance, { users, reader, n }: { users: BenchUser[]; reader: BenchUser; n: number }): Promise<void> {
  const per = Math.ceil(n / reader.chats.length);
  let remaining = n;
  const jobs: Promise<void>[] = [];
  for (const chatId of reader.chats) {
    const count = Math.min(per, remaining);
    remaining -= count;
    const sender = users.find((u) => u.index !== reader.index && u.chats.includes(chatId))!;
    if (count > 0) jobs.push(pump(p.wsUrl, { token: sender.token, chatId, n: count, tag: `c${Date.now()}x` }));
  }
  await Promise.all(jobs);
}

/** Sends n messages into chatId from one socket, keeping a window of them in flight. */
async function pump(wsUrl: string, { token, chatId, n, tag }: { token: string; chatId: string; n: number; tag: string }): Promise<void> {
  const ws = new WebSocket(wsUrl, [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${token}`], { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let sent = 0;
  let acked = 0;
  const window = 200;
  await new Promise<void>((resolve, reject) => {
    const more = () => {
      while (sent < n && sent - acked < window) {
        const text = makeText(0, sent, nowMs());
        const frame: ClientFrame = { type: 'send', id: String(sent), chatId, text, clientMessageId: `${tag}${sent}` };
        ws.send(JSON.stringify(frame));
        sent++;
      }
    };
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as ServerFrame;
      if (f.type === 'error') return reject(new Error(`send failed: ${JSON.stringify(f.error)}`));
      if (f.type !== 'ack') return;
      acked++;
      if (acked === n) resolve();
      else more();
    });
    more();
  });
  ws.close();
}

/** The floor: the events after the cursor and their messages, read from the file and serialised. */
function rawCatchupMs(p: ParleyInstance, { chats, cursor }: { chats: string[]; cursor: SyncCursor }): number {
  const db = new SQLite(path.join(p.dataDir, 'parley.sqlite'), { readonly: true });
  const q = db.prepare<[string, number], { seq: number }>(
    'select e.*, m.* from chat_events e left join messages m on m.id = e.message_id ' + 'where e.chat_id = ? and e.seq > ? order by e.seq limit 5000',
  );
  const s = nowMs();
  let rawEvents = 0;
  for (const chatId of chats) {
    let after = cursor.chats[chatId] ?? 0;
    for (;;) {
      const got = q.all(chatId, after);
      rawEvents += got.length;
      JSON.stringify(got);
      if (got.length < PAGE) break;
      after = got[got.length - 1]!.seq;
    }
  }
  const ms = round(nowMs() - s, 1);
  db.close();
  log(`catch-up floor: ${rawEvents} rows read from SQLite and serialised in ${ms} ms`);
  return ms;
}
