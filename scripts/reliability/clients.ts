// The load of a scenario, through the SDK: users in one group, realtime senders that keep a few
// messages in flight (the outbox resends them with the same clientMessageId after a reconnect),
// an HTTP prober that counts status codes by phase, and the audit of the store at the end.
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { ParleyClient, ParleyError, ParleyRealtime, type Message, type SessionTokens, type WebSocketFactory } from '@parley/sdk';
import { PARLEY_BIN } from '../../bench/context.ts';
import type { Node } from './harness.ts';

const PASSWORD = 'reliability-password-1';

/** Counts by phase (before, outage, after) and then by key (a status code, an error code). */
export type Counts = Record<string, Record<string, number>>;

export function bump(counts: Counts, phase: string, key: string): void {
  const row = (counts[phase] ??= {});
  row[key] = (row[key] ?? 0) + 1;
}

/** Which part of the scenario the run is in; the load reads it to file what it sees. */
export interface Phase {
  current: string;
}

export interface User {
  userId: string;
  session: SessionTokens;
}

/** An admin from a CLI invite, n users from the admin's invite, and one group of the first `members` (all by default). */
export async function setupGroup(node: Node, n: number, members = n): Promise<{ chatId: string; users: User[] }> {
  const adminCode = execFileSync(process.execPath, [PARLEY_BIN, 'invite', 'create', '--admin'], { env: node.env, encoding: 'utf8' }).trim().split('\n').pop()!;
  const admin = new ParleyClient({ baseUrl: node.url });
  await admin.register({ inviteCode: adminCode, username: 'reladmin', password: PASSWORD, displayName: 'Reliability admin' });
  await admin.login({ username: 'reladmin', password: PASSWORD, deviceName: 'reliability' });
  const { code } = await admin.createInvite({ maxUses: n });
  const users: User[] = [];
  for (let i = 0; i < n; i++) {
    const c = new ParleyClient({ baseUrl: node.url });
    await c.register({ inviteCode: code!, username: `rel${i}`, password: PASSWORD, displayName: `Reliability ${i}` });
    const session = await c.login({ username: `rel${i}`, password: PASSWORD, deviceName: 'reliability' });
    users.push({ userId: session.userId, session });
  }
  const owner = new ParleyClient({ baseUrl: node.url, session: users[0]!.session });
  const chat = await owner.createGroup({ title: 'reliability', memberIds: users.slice(1, members).map((u) => u.userId) });
  return { chatId: chat.id, users };
}

/** A received message.created: when it arrived, and what it says of its sender and creation. */
export interface Receipt {
  chatId: string;
  at: number;
  senderId: string;
  createdAt: number;
}

/** `ws` with a tap on every frame the server sends, to count error and resync frames. */
function tappedWebSocket(onFrame: (frame: { type?: string; error?: { code?: string } }) => void): WebSocketFactory {
  class Tapped extends WebSocket {
    constructor(url: string, protocols: string[]) {
      super(url, protocols);
      this.on('message', (data) => {
        try {
          onFrame(JSON.parse(String(data)));
        } catch {
          /* not JSON: the SDK ignores it too */
        }
      });
    }
  }
  return Tapped as unknown as WebSocketFactory;
}

/** One user on one node: a ParleyRealtime that sends steadily and records what it receives. */
export class Sender {
  readonly name: string;
  readonly user: User;
  readonly client: ParleyClient;
  readonly rt: ParleyRealtime;
  /** clientMessageId → the message the ack carried */
  readonly acked = new Map<string, Message>();
  /** when each ack arrived, to find the first one after an outage */
  readonly ackTimes: number[] = [];
  /** message id → receipt, for messages of the other senders */
  readonly received = new Map<string, Receipt>();
  readonly frames: Counts = {};
  sent = 0;
  failed = 0;
  private loading = false;
  private readonly chatId: string;
  private readonly phase: Phase;

  constructor(name: string, options: { node: Node; user: User; chatId: string; phase: Phase }) {
    this.name = name;
    this.user = options.user;
    this.chatId = options.chatId;
    this.phase = options.phase;
    this.client = new ParleyClient({ baseUrl: options.node.url, session: options.user.session });
    const WebSocketImpl = tappedWebSocket((f) => {
      if (f.type === 'error') bump(this.frames, this.phase.current, `error:${f.error?.code ?? '?'}`);
      else if (f.type === 'resync' || f.type === 'hello') bump(this.frames, this.phase.current, f.type);
    });
    this.rt = new ParleyRealtime(this.client, { WebSocket: WebSocketImpl, minBackoffMs: 100, maxBackoffMs: 1000 });
    this.rt.on('event', (e) => {
      if (e.log !== 'chat' || e.type !== 'message.created' || !e.message || e.message.senderId === this.user.userId) return;
      if (!this.received.has(e.message.id))
        this.received.set(e.message.id, { chatId: e.chatId, at: Date.now(), senderId: e.message.senderId, createdAt: Date.parse(e.message.createdAt) });
    });
  }

  connect(): Promise<void> {
    return this.rt.connect();
  }

  /** Sends a message every intervalMs while fewer than `window` are waiting for their ack. */
  startLoad({ intervalMs, window }: { intervalMs: number; window: number }): void {
    this.loading = true;
    void (async () => {
      while (this.loading) {
        if (this.rt.outbox.length < window) this.sendOne();
        await sleep(intervalMs);
      }
    })();
  }

  private sendOne(): void {
    const clientMessageId = `${this.name}-${this.sent++}`;
    const { acked } = this.rt.send({ chatId: this.chatId, text: `reliability ${clientMessageId}`, clientMessageId });
    acked.then(
      (m) => {
        this.acked.set(clientMessageId, m);
        this.ackTimes.push(Date.now());
      },
      () => this.failed++,
    );
  }

  /** Stops new sends and waits (up to timeoutMs) until every pending one is acked. */
  async drain(timeoutMs: number): Promise<number> {
    this.loading = false;
    const deadline = Date.now() + timeoutMs;
    while (this.rt.outbox.some((m) => m.state === 'pending') && Date.now() < deadline) await sleep(100);
    return this.rt.outbox.length;
  }

  close(): void {
    this.loading = false;
    this.rt.close();
  }
}

/** Plain HTTP requests one after another (a send, then a read), each status counted by phase. */
export class Prober {
  readonly statuses: Counts = {};
  readonly acked = new Map<string, Message>();
  sent = 0;
  /** when each request answered 200 */
  readonly okTimes: number[] = [];
  private running = false;
  private done: Promise<void> = Promise.resolve();
  private readonly client: ParleyClient;

  constructor(
    readonly name: string,
    private readonly options: { node: Node; user: User; chatId: string; phase: Phase },
  ) {
    const timed: typeof fetch = (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(5000) });
    this.client = new ParleyClient({ baseUrl: options.node.url, session: options.user.session, fetch: timed });
  }

  start(intervalMs: number): void {
    this.running = true;
    this.done = (async () => {
      for (let k = 0; this.running; k++) {
        const clientMessageId = `${this.name}-${k}`;
        const chatId = this.options.chatId;
        this.sent++;
        await this.probe(async () => {
          const m = await this.client.sendMessage({ chatId, text: `reliability ${clientMessageId}`, clientMessageId });
          this.acked.set(clientMessageId, m);
        });
        await this.probe(() => this.client.listMessages({ chatId, limit: 20 }));
        await sleep(intervalMs);
      }
    })();
  }

  private async probe(call: () => Promise<unknown>): Promise<void> {
    const phase = this.options.phase.current;
    try {
      await call();
      bump(this.statuses, phase, '200');
      this.okTimes.push(Date.now());
    } catch (err) {
      if (!(err instanceof ParleyError)) throw err;
      bump(this.statuses, phase, err.status === 0 ? (/timeout|abort/i.test(err.message) ? 'timeout' : 'network') : String(err.status));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

export interface Audit {
  acked: number;
  stored: number;
  /** acked but not in the store */
  lost: number;
  /** stored more than once under one clientMessageId */
  duplicated: number;
  /** in the store under another id than the ack said */
  changed: number;
}

/** Reads the whole chat from the store and checks every acked message is in it exactly once, as acked. */
export async function audit(node: Node, user: User, chatId: string, acked: Map<string, Message>): Promise<Audit & { messages: Message[] }> {
  const client = new ParleyClient({ baseUrl: node.url, session: user.session });
  const messages: Message[] = [];
  for (let after = 0; ;) {
    const page = await client.listMessages({ chatId, after, limit: 100 });
    messages.push(...page.messages);
    if (!page.hasMore || page.messages.length === 0) break;
    after = page.messages[page.messages.length - 1]!.seq;
  }
  const byCmid = new Map<string, Message[]>();
  for (const m of messages) byCmid.set(m.clientMessageId, [...(byCmid.get(m.clientMessageId) ?? []), m]);
  let lost = 0;
  let changed = 0;
  for (const [cmid, m] of acked) {
    const found = byCmid.get(cmid);
    if (!found) lost++;
    else if (found[0]!.id !== m.id) changed++;
  }
  const duplicated = [...byCmid.values()].filter((list) => list.length > 1).length;
  return { acked: acked.size, stored: messages.length, lost, duplicated, changed, messages };
}

/** Every acked message of every sender and prober, by clientMessageId. */
export function allAcked(sources: { acked: Map<string, Message> }[]): Map<string, Message> {
  return new Map(sources.flatMap((s) => [...s.acked]));
}

/** Stored messages of others that a sender never received (live or through a sync). */
export function undelivered(sender: Sender, messages: Message[]): number {
  return messages.filter((m) => m.senderId !== sender.user.userId && !sender.received.has(m.id)).length;
}

/** Sums counts over several sources, by phase and key. */
export function mergeCounts(all: Counts[]): Counts {
  const out: Counts = {};
  for (const c of all)
    for (const [phase, row] of Object.entries(c)) for (const [k, n] of Object.entries(row)) (out[phase] ??= {})[k] = (out[phase]?.[k] ?? 0) + n;
  return out;
}
