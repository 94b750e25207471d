// End-to-end encryption beside plaintext, on one server in one run. A sends into a private chat over HTTP, one
// message at a time; B's socket receives the event. Plaintext: A→C. E2EE: A→B, A encrypting with the SDK's engine and
// B decrypting what its socket brings; every plaintext B reads is checked against what A sent. The two take turns
// in rounds (the machine is shared), and the server's CPU is read over each. Then what the MLS operations cost a
// client in this Node process, on states forked from the chat's group.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { ParleyClient, WS_PROTOCOL, WS_TOKEN_PREFIX, type ChatEvent, type ServerFrame } from '@parley/sdk';
import { E2eeDevice, type LocalKeyPackage, type MlsGroup } from '@parley/sdk/e2ee';
import { procCpuUs, settle } from '../procs.ts';
import { log } from '../results.ts';
import { round, type E2eeClientRow, type E2eeDeliveryRow } from '../rows.ts';
import { nowMs, percentile, type BenchUser } from '../shared.ts';
import { PASSWORD, username } from '../setup.ts';
import type { ParleyInstance } from '../targets.ts';

/** Devices added in the one commit whose cost is measured (all B's: a private chat's roster is its two members). */
const ADDED_DEVICES = 5;

export interface E2eeOptions {
  /** measured sends per mode, split over the rounds */
  sends: number;
  rounds: number;
  /** sends per mode before measuring: the first ones include compiling the routes' and the engine's code */
  warmup: number;
  /** repetitions of each client-side operation */
  ops: number;
}

/** A signed-in session whose client notes when each HTTP request started (for the server's part of a send). */
interface Session {
  client: ParleyClient;
  userId: string;
  lastRequestAt: number;
}

async function signIn(p: ParleyInstance, user: BenchUser, deviceName: string): Promise<Session> {
  const s: Session = { client: undefined as unknown as ParleyClient, userId: user.id, lastRequestAt: 0 };
  const timed: typeof fetch = (input, init) => {
    s.lastRequestAt = nowMs();
    return fetch(input, init);
  };
  s.client = new ParleyClient({ baseUrl: p.url, fetch: timed });
  await s.client.login({ username: username(user.index), password: PASSWORD, deviceName });
  return s;
}

/** A socket that hands over the message.created events of one chat in the order they came, each with its arrival time. */
class Inbox {
  private readonly queued: { at: number; event: ChatEvent }[] = [];
  private waiting: ((got: { at: number; event: ChatEvent }) => void) | undefined;

  private constructor(
    readonly ws: WebSocket,
    readonly chatId: string,
  ) {
    ws.on('message', (data) => {
      const at = nowMs();
      const f = JSON.parse(data.toString()) as ServerFrame;
      if (f.type !== 'event' || f.event.log !== 'chat' || f.event.chatId !== chatId || f.event.type !== 'message.created') return;
      const got = { at, event: f.event };
      if (this.waiting) this.waiting(got);
      else this.queued.push(got);
      this.waiting = undefined;
    });
  }

  static async open(p: ParleyInstance, token: string, chatId: string): Promise<Inbox> {
    const ws = new WebSocket(p.wsUrl, [WS_PROTOCOL, `${WS_TOKEN_PREFIX}${token}`], { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Inbox(ws, chatId);
  }

  next(): Promise<{ at: number; event: ChatEvent }> {
    const got = this.queued.shift();
    if (got) return Promise.resolve(got);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message in chat ${this.chatId} within 10 s`)), 10_000);
      this.waiting = (g) => {
        clearTimeout(timer);
        resolve(g);
      };
    });
  }
}

/** One mode's path from A to the receiver: send a text, resolve when the receiver has it, with the times taken. */
interface Lane {
  mode: E2eeDeliveryRow['mode'];
  /** the client's pause before each send (not in the latency): plain-paced leaves the server the idle gaps of E2EE */
  pauseMs: number;
  inbox: Inbox;
  send: (text: string) => Promise<unknown>;
  /** what the receiver reads from the event: the text (decrypted for E2EE) */
  read: (event: ChatEvent) => Promise<string | null>;
  sender: Session;
  endToEnd: number[];
  serverPart: number[];
  cpuUs: number;
  wallMs: number;
  mismatches: number;
}

async function deliverOne(lane: Lane, tag: string, k: number): Promise<void> {
  if (lane.pauseMs > 0) await sleep(lane.pauseMs);
  const start = nowMs();
  const text = `${lane.mode}|${tag}|${k}|`.padEnd(100, 'x');
  const sent = lane.send(text);
  const { at, event } = await lane.inbox.next();
  const requestAt = lane.sender.lastRequestAt;
  const plaintext = await lane.read(event);
  const done = nowMs();
  await sent;
  if (plaintext !== text) lane.mismatches++;
  lane.endToEnd.push(done - start);
  lane.serverPart.push(at - requestAt);
}

/** A run of sends, one after another, with the server's CPU over them. */
async function block(lane: Lane, { n, tag, pid, from }: { n: number; tag: string; pid: number; from: number }): Promise<void> {
  const cpu0 = procCpuUs(pid);
  const wall0 = nowMs();
  for (let k = 0; k < n; k++) await deliverOne(lane, tag, from + k);
  if (tag === 'w') return;
  lane.cpuUs += procCpuUs(pid) - cpu0;
  lane.wallMs += nowMs() - wall0;
}

function lane(mode: Lane['mode'], path: Pick<Lane, 'inbox' | 'send' | 'read' | 'sender'>): Lane {
  return { pauseMs: 0, ...path, mode, endToEnd: [], serverPart: [], cpuUs: 0, wallMs: 0, mismatches: 0 };
}

/** The private chats, devices and sockets of both modes: A, B with E2EE devices; C plain. */
async function setUp(p: ParleyInstance, users: BenchUser[]) {
  const [ua, ub, uc] = users.slice(-3) as [BenchUser, BenchUser, BenchUser];
  const a = await signIn(p, ua, 'e2ee bench A');
  const b = await signIn(p, ub, 'e2ee bench B');
  const c = await signIn(p, uc, 'e2ee bench C');
  const aDevice = await E2eeDevice.setUp(a.client);
  const bDevice = await E2eeDevice.setUp(b.client);
  const secret = await a.client.createPrivateChat({ userId: ub.id });
  const plain = await a.client.createPrivateChat({ userId: uc.id });
  await aDevice.chat(secret.id).start();
  await bDevice.sync();
  if (!bDevice.chat(secret.id).group) throw new Error('B did not join the private chat\u2019s group');
  const plainLane = lane('plain', {
    inbox: await Inbox.open(p, c.client.session!.accessToken, plain.id),
    send: (text) => a.client.sendMessage({ chatId: plain.id, clientMessageId: randomUUID(), text }),
    read: async (event) => event.message?.text ?? null,
    sender: a,
  });
  const pacedLane = lane('plain-paced', plainLane);
  const e2eeLane = lane('e2ee', {
    inbox: await Inbox.open(p, b.client.session!.accessToken, secret.id),
    send: (text) => aDevice.chat(secret.id).send(text),
    read: async (event) => {
      await bDevice.handle(event);
      return bDevice.chat(secret.id).messages.get(event.message!.id)?.text ?? null;
    },
    sender: a,
  });
  return { ub, aDevice, bDevice, chatId: secret.id, lanes: [plainLane, pacedLane, e2eeLane] as const };
}

export async function* e2ee(p: ParleyInstance, { users, ...o }: E2eeOptions & { users: BenchUser[] }): AsyncGenerator<E2eeDeliveryRow | E2eeClientRow> {
  const s = await setUp(p, users);
  const pid = p.proc.pid!;
  for (const lane of s.lanes) await block(lane, { n: o.warmup, tag: 'w', pid, from: 0 });
  const [, paced, secretLane] = s.lanes;
  paced.pauseMs = clientMs(secretLane);
  for (const lane of s.lanes) lane.endToEnd.length = lane.serverPart.length = 0;
  await settle(pid);
  const idleUsPerMs = await idleCpu(pid);
  const perRound = Math.ceil(o.sends / o.rounds);
  for (let r = 0; r < o.rounds; r++) for (const lane of s.lanes) await block(lane, { n: perRound, tag: `r${r}`, pid, from: r * perRound });
  for (const lane of s.lanes) lane.inbox.ws.close();
  const rows = s.lanes.map((lane) => deliveryRow(p, lane, idleUsPerMs));
  const [plain, pacedPlain] = rows as [E2eeDeliveryRow, E2eeDeliveryRow];
  const ratio = (x: number, to: number) => (to > 0 ? round(x / to, 2) : null);
  for (const row of rows) {
    row.cpuRatioToPlain = ratio(row.serverCpuUsPerDelivery, plain.serverCpuUsPerDelivery);
    row.cpuRatioToPacedPlain = ratio(row.serverCpuUsPerDelivery, pacedPlain.serverCpuUsPerDelivery);
    log(
      `e2ee ${row.mode}: ${row.sends} sends, end to end p50 ${row.p50} p95 ${row.p95} p99 ${row.p99} ms, server part p50 ${row.serverP50} p99 ${row.serverP99} ms, ` +
        `server ${row.serverCpuUsPerDelivery} µs/delivery net of ${row.idleCpuUsPerDelivery} idle (×${row.cpuRatioToPlain} plain, ×${row.cpuRatioToPacedPlain} paced), mismatches ${row.mismatches}`,
    );
    yield row;
  }
  yield* clientCosts(p, s, o.ops);
}

/** The median time E2EE adds at the clients (encrypting at A, decrypting at B): end to end less the server's part. */
function clientMs(lane: Lane): number {
  const extra = lane.endToEnd.map((ms, i) => ms - lane.serverPart[i]!).sort((x, y) => x - y);
  return Math.max(0, percentile(extra, 50));
}

/**
 * The server's CPU per millisecond with nothing sent (timers, heartbeats): a send that takes longer at the client
 * (encrypting, decrypting) leaves the server idle for longer, and that idle CPU is not the send's.
 */
async function idleCpu(pid: number): Promise<number> {
  const c0 = procCpuUs(pid);
  const t0 = nowMs();
  await sleep(3000);
  return (procCpuUs(pid) - c0) / (nowMs() - t0);
}

function deliveryRow(p: ParleyInstance, lane: Lane, idleUsPerMs: number): E2eeDeliveryRow {
  const e2e = [...lane.endToEnd].sort((x, y) => x - y);
  const srv = [...lane.serverPart].sort((x, y) => x - y);
  const q = (xs: number[], pct: number) => round(percentile(xs, pct), 2);
  const n = Math.max(1, e2e.length);
  const idle = idleUsPerMs * lane.wallMs;
  return {
    kind: 'e2ee',
    store: p.store,
    mode: lane.mode,
    sends: e2e.length,
    mismatches: lane.mismatches,
    p50: q(e2e, 50),
    p95: q(e2e, 95),
    p99: q(e2e, 99),
    serverP50: q(srv, 50),
    serverP95: q(srv, 95),
    serverP99: q(srv, 99),
    serverCpuUsPerDelivery: round((lane.cpuUs - idle) / n, 1),
    idleCpuUsPerDelivery: round(idle / n, 1),
    pauseMs: round(lane.pauseMs, 2),
    cpuRatioToPlain: null,
    cpuRatioToPacedPlain: null,
  };
}

/** Times `fn` over n repetitions after one untimed run; µs per op (median and mean). */
async function timeOp(n: number, fn: (i: number) => Promise<number>): Promise<{ p50Us: number; meanUs: number }> {
  await fn(-1);
  const us: number[] = [];
  for (let i = 0; i < n; i++) us.push(await fn(i));
  us.sort((x, y) => x - y);
  return { p50Us: round(percentile(us, 50), 1), meanUs: round(us.reduce((a, x) => a + x, 0) / n, 1) };
}

/** Microseconds an async call takes. */
async function took(fn: () => Promise<unknown>): Promise<number> {
  const t = nowMs();
  await fn();
  return (nowMs() - t) * 1000;
}

/**
 * Encrypt, decrypt, a self-update commit (made by A, processed by B), a commit adding five devices (made by A,
 * processed by B) and the Welcome join of one of them. Every state here is forked from the chat's group and
 * thrown away: the engine is not used again after this.
 */
async function* clientCosts(p: ParleyInstance, s: Awaited<ReturnType<typeof setUp>>, n: number): AsyncGenerator<E2eeClientRow> {
  const { aDevice, bDevice, chatId } = s;
  const row = (op: string, t: { p50Us: number; meanUs: number }, extra: Partial<E2eeClientRow> = {}): E2eeClientRow => {
    log(`e2ee client ${op}: p50 ${t.p50Us} µs, mean ${t.meanUs} µs over ${n}`);
    return { kind: 'e2eeClient', store: p.store, op, ops: n, ...t, mismatches: 0, ...extra };
  };
  let ga = aDevice.chat(chatId).group!;
  let gb = bDevice.chat(chatId).group!;

  // Encrypt n messages in a chain, then decrypt them in order; every plaintext is checked.
  const text = 'x'.repeat(100);
  const payload = new TextEncoder().encode(JSON.stringify({ v: 1, text, editOf: null, replyToId: null }));
  const sealed: Uint8Array[] = [];
  yield row(
    'encrypt (100-character text)',
    await timeOp(n, (i) =>
      took(async () => {
        const out = await aDevice.mls.encrypt(ga, payload);
        ga = out.group;
        if (i >= 0) sealed.push(out.message);
        else gb = await processed(bDevice, gb, out.message, payload);
      }),
    ),
  );
  let mismatches = 0;
  yield row(
    'decrypt',
    await timeOp(n, async (i) => {
      if (i < 0) return 0;
      const t = nowMs();
      const r = await bDevice.mls.process(gb, sealed[i]!);
      const us = (nowMs() - t) * 1000;
      if (r.kind !== 'application' || !sameBytes(r.plaintext, payload)) mismatches++;
      gb = r.group;
      return us;
    }),
    { mismatches },
  );

  // Self-update: the commit made by A, then processed by B; both move on to the next epoch each time.
  const made = await timeOp(n, async () => {
    let commit: Uint8Array | undefined;
    const us = await took(async () => {
      const bundle = await aDevice.mls.selfUpdate(ga);
      ga = bundle.group;
      commit = bundle.commit;
    });
    gb = (await bDevice.mls.process(gb, commit!)).group;
    return us;
  });
  yield row('self-update commit: create', made);
  const processedAt = await timeOp(n, async () => {
    const bundle = await aDevice.mls.selfUpdate(ga);
    ga = bundle.group;
    return took(async () => {
      gb = (await bDevice.mls.process(gb, bundle.commit)).group;
    });
  });
  yield row('self-update commit: process', processedAt);

  // Five more devices of B, approved by B's first: each iteration adds fresh KeyPackages of theirs to the same epoch.
  const extra = await addedDevices(p, s);
  const fresh = () => Promise.all(extra.map((d) => d.newKeyPackage()));
  const addCommit = async (kps: LocalKeyPackage[]) =>
    aDevice.mls.addDevices(
      ga,
      kps.map((k) => k.encoded),
    );
  yield row(
    `add ${ADDED_DEVICES} devices in one commit: create`,
    await timeOp(n, async () => {
      const kps = await fresh();
      return took(() => addCommit(kps));
    }),
  );
  yield row(
    `add ${ADDED_DEVICES} devices in one commit: process`,
    await timeOp(n, async () => {
      const bundle = await addCommit(await fresh());
      return took(() => bDevice.mls.process(gb, bundle.commit));
    }),
  );
  let joinedMembers = 0;
  yield row(
    `Welcome join (group of ${2 + ADDED_DEVICES})`,
    await timeOp(n, async () => {
      const kps = await fresh();
      const bundle = await addCommit(kps);
      let joined: MlsGroup | undefined;
      const us = await took(async () => {
        joined = await extra[0]!.mls.joinFromWelcome({ welcome: bundle.welcome!, keyPackage: kps[0]! });
      });
      joinedMembers = joined!.members().length;
      return us;
    }),
    { mismatches: 0 },
  );
  if (joinedMembers !== 2 + ADDED_DEVICES) throw new Error(`a Welcome joined a group of ${joinedMembers} devices`);
}

async function processed(device: E2eeDevice, group: MlsGroup, message: Uint8Array, payload: Uint8Array): Promise<MlsGroup> {
  const r = await device.mls.process(group, message);
  if (r.kind !== 'application' || !sameBytes(r.plaintext, payload)) throw new Error('a message did not decrypt to what was sent');
  return r.group;
}

function sameBytes(x: Uint8Array, y: Uint8Array): boolean {
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** B's further devices: new sessions set up with B's identity key and approved by B's first device. */
async function addedDevices(p: ParleyInstance, s: Awaited<ReturnType<typeof setUp>>): Promise<E2eeDevice[]> {
  const devices: E2eeDevice[] = [];
  for (let i = 0; i < ADDED_DEVICES; i++) {
    const session = await signIn(p, s.ub, `e2ee bench B${i + 2}`);
    const device = await E2eeDevice.setUp(session.client, { aik: s.bDevice.aik });
    await s.bDevice.approve(device.deviceId);
    await device.activate();
    devices.push(device);
  }
  return devices;
}
