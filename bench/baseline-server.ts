// The floor Parley is measured against: a minimal durable fan-out server on the same `ws` and
// better-sqlite3. It authenticates nothing (the token subprotocol is taken as the user id),
// appends each group message to a WAL-mode SQLite table in transactions batched over a short
// window, and forwards the message to the other members (and acks the sender) only after its
// batch has committed. It speaks the subset of Parley's frames the load generator uses.
//
//   tsx bench/baseline-server.ts --port N --data DIR --groups groups.json [--window-ms 2]
//   tsx bench/baseline-server.ts --port N --bare      (no database, no frames: idle-memory floor)
import fs from 'node:fs';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import SQLite from 'better-sqlite3';

const args = process.argv.slice(2);
const arg = (name: string, fallback?: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const port = Number(arg('port', '0'));
const bare = args.includes('--bare');
const TOKEN = 'parley.token.';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  maxPayload: 64 * 1024,
  handleProtocols: (protocols) => (protocols.has('parley.v1') ? 'parley.v1' : false),
});

if (bare) {
  // A bare socket server: what `ws` alone costs per idle connection.
  wss.on('connection', () => {});
} else {
  const dataDir = arg('data')!;
  const windowMs = Number(arg('window-ms', '2'));
  const groups: Record<string, string[]> = JSON.parse(fs.readFileSync(arg('groups')!, 'utf8'));
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new SQLite(path.join(dataDir, 'baseline.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`create table if not exists messages (
    id integer primary key, chat_id text not null, seq integer not null, sender_id text not null,
    client_message_id text not null, text text not null, created_at integer not null)`);
  db.exec('create unique index if not exists messages_chat_seq on messages(chat_id, seq)');
  const insert = db.prepare('insert into messages (chat_id, seq, sender_id, client_message_id, text, created_at) values (?, ?, ?, ?, ?, ?)');
  const seqs = new Map<string, number>();
  const sockets = new Map<string, Set<WebSocket>>();

  interface Pending {
    ws: WebSocket;
    reqId: string;
    chatId: string;
    senderId: string;
    clientMessageId: string;
    text: string;
    seq: number;
    at: number;
    rowId: number;
  }
  let batch: Pending[] = [];
  let timer: NodeJS.Timeout | null = null;
  const commit = db.transaction((items: Pending[]) => {
    for (const p of items) p.rowId = Number(insert.run(p.chatId, p.seq, p.senderId, p.clientMessageId, p.text, p.at).lastInsertRowid);
  });

  function flush(): void {
    timer = null;
    const items = batch;
    batch = [];
    commit(items);
    for (const p of items) {
      const at = new Date(p.at).toISOString();
      const message = {
        id: String(p.rowId),
        chatId: p.chatId,
        seq: p.seq,
        senderId: p.senderId,
        kind: 'text',
        text: p.text,
        clientMessageId: p.clientMessageId,
        replyToId: null,
        createdAt: at,
        editedAt: null,
        deletedAt: null,
      };
      // Serialised once for every recipient.
      const event = { log: 'chat', type: 'message.created', chatId: p.chatId, seq: p.seq, actorId: p.senderId, at, message };
      const frame = JSON.stringify({ type: 'event', event });
      for (const userId of groups[p.chatId]!) {
        if (userId === p.senderId) continue;
        for (const s of sockets.get(userId) ?? []) s.send(frame);
      }
      p.ws.send(JSON.stringify({ type: 'ack', id: p.reqId, message }));
    }
  }

  wss.on('connection', (ws, req) => {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    const userId = offered.find((p) => p.startsWith(TOKEN))?.slice(TOKEN.length) ?? 'anonymous';
    let set = sockets.get(userId);
    if (!set) sockets.set(userId, (set = new Set()));
    set.add(ws);
    ws.on('close', () => set!.delete(ws));
    ws.on('message', (data) => {
      let f: { type?: string; id?: string; chatId?: string; text?: string; clientMessageId?: string };
      try {
        f = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (f.type !== 'send' || !f.chatId || !groups[f.chatId] || typeof f.text !== 'string') {
        ws.send(JSON.stringify({ type: 'error', id: f.id, error: { code: 'invalid_request', message: 'bad frame' } }));
        return;
      }
      const seq = (seqs.get(f.chatId) ?? 0) + 1;
      seqs.set(f.chatId, seq);
      batch.push({
        ws,
        reqId: f.id ?? '',
        chatId: f.chatId,
        senderId: userId,
        clientMessageId: f.clientMessageId ?? '',
        text: f.text,
        seq,
        at: Date.now(),
        rowId: 0,
      });
      timer ??= setTimeout(flush, windowMs);
    });
    ws.send(JSON.stringify({ type: 'hello', userId, sessionId: userId, heartbeatMs: 25_000 }));
  });
}

wss.on('listening', () => {
  const address = wss.address();
  process.stdout.write(`listening ${address !== null && typeof address === 'object' ? address.port : String(address)}\n`);
});
process.on('SIGTERM', () => process.exit(0));
