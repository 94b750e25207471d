// A load-generator process: holds a share of the WebSocket connections, sends its share of an
// open-loop schedule and measures end-to-end latency of what its users receive. Driven by the
// orchestrator (bench.ts) over IPC.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { ToWorker, FromWorker, BenchUser } from './shared.ts';
import { HIST_BUCKET_MS, HIST_SIZE, LAG_LIMIT_MS, LOSS_MS, nowMs, makeText } from './shared.ts';

interface Conn {
  ws: WebSocket;
  user: BenchUser;
}

let conns: Conn[] = [];
let byIndex = new Map<number, Conn>();

// Per-step measurement state.
let step = -1;
let hist = new Uint32Array(HIST_SIZE);
let counts = new Uint16Array(0);
let late = 0;
let received = 0;
let acks = 0;
let errors: Record<string, number> = {};
let maxLagMs = 0;
let lateSends = 0;
let echoes = 0;
let sendTimer: NodeJS.Timeout | null = null;
let cpuStart = process.cpuUsage();
let wallStart = performance.now();

function reply(m: FromWorker): void {
  process.send!(m);
}

const EVENT = Buffer.from('{"type":"event"');
const ACK = Buffer.from('{"type":"ack"');
const SENDER = Buffer.from('"senderId":"');
const TEXT = Buffer.from('"text":"b|');
const BAR = 0x7c;

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** The number written in data from `from` up to the next '|', and where that '|' is. */
function field(data: Buffer, from: number): [number, number] {
  const end = data.indexOf(BAR, from);
  return [Number(data.toString('latin1', from, end)), end];
}

// Frames are read without JSON.parse where it matters: at tens of thousands of deliveries a
// second, parsing every frame would make the generator, not the server, the bottleneck. Only the
// few bytes measured are read: the sender and the "b|step|k|sentAt|" head of the text.
function onFrame(userId: Buffer, data: Buffer): void {
  const t = nowMs();
  if (startsWith(data, EVENT)) {
    const head = data.indexOf(TEXT);
    if (head < 0) return;
    // Parley also sends the event to the sender's own sockets (its other devices); only the
    // deliveries to the other members are counted, as for the baseline.
    const sender = data.indexOf(SENDER) + SENDER.length;
    if (data.compare(userId, 0, userId.length, sender, sender + userId.length) === 0 && data[sender + userId.length] === 0x22) {
      echoes++;
      return;
    }
    // b|step|k|sentAtMs|padding
    const [frameStep, a] = field(data, head + TEXT.length);
    if (frameStep !== step) return;
    const [k, b] = field(data, a + 1);
    const [sentAt] = field(data, b + 1);
    const latency = t - sentAt;
    received++;
    if (latency > LOSS_MS) {
      late++;
      return;
    }
    if (k < counts.length) counts[k]!++;
    hist[Math.min(HIST_SIZE - 1, Math.max(0, Math.floor(latency / HIST_BUCKET_MS)))]!++;
  } else if (startsWith(data, ACK)) {
    acks++;
  } else {
    const f = JSON.parse(data.toString());
    if (f.type === 'error') {
      const code = String(f.error?.code ?? 'unknown');
      errors[code] = (errors[code] ?? 0) + 1;
    }
  }
}

function open(url: string, user: BenchUser, localAddress: string | undefined): Promise<Conn | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['parley.v1', `parley.token.${user.token}`], {
      localAddress,
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    const id = Buffer.from(user.id);
    let done = false;
    ws.once('open', () => {
      done = true;
      resolve({ ws, user });
    });
    ws.once('error', () => {
      if (!done) resolve(null);
      done = true;
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      if (!done) resolve(null);
      done = true;
    });
    ws.on('message', (data) => onFrame(id, data as Buffer));
  });
}

async function connect(url: string, users: BenchUser[], perUser: number, localAddresses: string[]): Promise<void> {
  const jobs: { user: BenchUser; addr: string | undefined }[] = [];
  let n = 0;
  for (let r = 0; r < perUser; r++) {
    for (const user of users) jobs.push({ user, addr: localAddresses.length ? localAddresses[n++ % localAddresses.length] : undefined });
  }
  let failed = 0;
  const opened: Conn[] = [];
  const parallel = 100;
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < jobs.length) {
        const j = jobs[next++]!;
        const c = await open(url, j.user, j.addr);
        if (c) opened.push(c);
        else failed++;
      }
    }),
  );
  conns.push(...opened);
  byIndex = new Map();
  for (const c of conns) if (!byIndex.has(c.user.index)) byIndex.set(c.user.index, c);
  reply({ type: 'connected', open: conns.length, failed });
}

function startStep(m: Extract<ToWorker, { cmd: 'step' }>): void {
  step = m.step;
  hist = new Uint32Array(HIST_SIZE);
  counts = new Uint16Array(m.total);
  late = 0;
  received = 0;
  acks = 0;
  errors = {};
  maxLagMs = 0;
  lateSends = 0;
  echoes = 0;
  cpuStart = process.cpuUsage();
  wallStart = performance.now();
  // The k this process sends: those whose rotating user is one of ours.
  const mine: number[] = [];
  for (let k = 0; k < m.total; k++) if (byIndex.has(m.order[k % m.order.length]!)) mine.push(k);
  let i = 0;
  const interval = 1000 / m.rate;
  const tick = () => {
    const now = nowMs();
    while (i < mine.length) {
      const k = mine[i]!;
      const at = m.t0 + k * interval;
      if (at > now) break;
      const c = byIndex.get(m.order[k % m.order.length]!)!;
      const chats = c.user.chats;
      const chatId = chats[Math.floor(k / m.order.length) % chats.length]!;
      const sentAt = nowMs();
      const lag = sentAt - at;
      maxLagMs = Math.max(maxLagMs, lag);
      if (lag > LAG_LIMIT_MS) lateSends++;
      if (c.ws.readyState === WebSocket.OPEN) {
        // The actual send time goes in the text: latency is measured from the moment the frame
        // was written; how far sends fell behind the schedule is reported apart (lateSends).
        const text = makeText(step, k, sentAt);
        c.ws.send(JSON.stringify({ type: 'send', id: String(k), chatId, text, clientMessageId: `s${step}k${k}` }));
      } else {
        errors.socket_closed = (errors.socket_closed ?? 0) + 1;
      }
      i++;
    }
    sendTimer = i < mine.length ? setTimeout(tick, Math.max(0, Math.min(5, m.t0 + mine[i]! * interval - nowMs()))) : null;
  };
  sendTimer = setTimeout(tick, Math.max(0, m.t0 - nowMs()));
}

process.on('message', async (m: ToWorker) => {
  switch (m.cmd) {
    case 'connect':
      await connect(m.url, m.users, m.perUser, m.localAddresses);
      break;
    case 'step':
      startStep(m);
      break;
    case 'progress':
      reply({ type: 'progress', received, late });
      break;
    case 'collect': {
      if (sendTimer) clearTimeout(sendTimer);
      const cpu = process.cpuUsage(cpuStart);
      const sparse: [number, number][] = [];
      for (let b = 0; b < hist.length; b++) if (hist[b]) sparse.push([b, hist[b]!]);
      const cpuUs = cpu.user + cpu.system;
      const wallMs = performance.now() - wallStart;
      reply({ type: 'collected', hist: sparse, counts, received, late, acks, errors, maxLagMs, lateSends, echoes, cpuUs, wallMs });
      break;
    }
    case 'close': {
      const closing = conns.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === WebSocket.CLOSED) return resolve();
            c.ws.once('close', () => resolve());
            c.ws.terminate();
          }),
      );
      await Promise.all(closing);
      conns = [];
      byIndex = new Map();
      reply({ type: 'closed' });
      break;
    }
    case 'exit':
      process.exit(0);
  }
});
reply({ type: 'ready' });
