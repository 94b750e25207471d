import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const TURNSERVER = '/usr/bin/turnserver';

/** Why the TURN suite cannot run here, or null; under CI=true a missing coturn is an error. */
export function turnUnavailable(): string | null {
  if (existsSync(TURNSERVER)) return null;
  const reason = `${TURNSERVER} is not installed (apt-get install coturn)`;
  if (process.env.CI === 'true') throw new Error(`The TURN suite must run under CI: ${reason}`);
  console.warn(`Skipping the TURN suite: ${reason}`);
  return reason;
}

/** A coturn of the test's own on 127.0.0.1 (TURN REST secret, no TLS), stopped by its PID. */
export class TestTurn {
  readonly port: number;
  readonly realm = 'parley.test';
  private readonly dir: string;
  private child: ChildProcess | null = null;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  static async start(secret: string): Promise<TestTurn> {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const relayFrom = 40_000 + Math.floor(Math.random() * 200) * 100;
    const turn = new TestTurn(port, mkdtempSync(path.join(tmpdir(), 'parley-turn-')));
    const conf = [
      'listening-ip=127.0.0.1',
      'relay-ip=127.0.0.1',
      `listening-port=${port}`,
      `min-port=${relayFrom}`,
      `max-port=${relayFrom + 99}`,
      `realm=${turn.realm}`,
      'use-auth-secret',
      `static-auth-secret=${secret}`,
      'no-tls',
      'no-dtls',
      'no-cli',
      'no-multicast-peers',
      // Tests only: coturn refuses loopback peers by default.
      'allow-loopback-peers',
      'no-stdout-log',
      `log-file=${path.join(turn.dir, 'turn.log')}`,
      'simple-log',
      `pidfile=${path.join(turn.dir, 'turn.pid')}`,
      `userdb=${path.join(turn.dir, 'turndb.sqlite')}`,
    ];
    const file = path.join(turn.dir, 'turnserver.conf');
    writeFileSync(file, conf.join('\n') + '\n');
    turn.child = spawn(TURNSERVER, ['-c', file], { stdio: 'ignore' });
    // Ready when it answers a STUN binding request.
    const end = Date.now() + 10_000;
    for (;;) {
      if (await turn.binds()) return turn;
      if (Date.now() > end || turn.child.exitCode !== null) {
        await turn.stop();
        throw new Error(`coturn did not start on port ${port}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async binds(): Promise<boolean> {
    try {
      const reply = await exchange(this.port, stunMessage(0x0001, randomBytes(12), []), 300);
      return reply.type === 0x0101;
    } catch {
      return false;
    }
  }

  /** coturn's log, for the reasons of a refusal. */
  log(): string {
    try {
      return readFileSync(path.join(this.dir, 'turn.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// STUN (RFC 5389) and TURN (RFC 5766) messages: just what one Allocate needs.
const MAGIC = 0x2112a442;
const ATTR = { username: 0x0006, integrity: 0x0008, errorCode: 0x0009, realm: 0x0014, nonce: 0x0015, relayed: 0x0016, transport: 0x0019 };

interface StunReply {
  type: number;
  attrs: Map<number, Buffer>;
}

function attribute(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(value.length, 2);
  return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

/** A STUN message; with a key, MESSAGE-INTEGRITY (HMAC-SHA1 over the message, its length counting the attribute) goes last. */
function stunMessage(type: number, txId: Buffer, attrs: Buffer[], key?: Buffer): Buffer {
  const body = Buffer.concat(attrs);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(body.length + (key ? 24 : 0), 2);
  head.writeUInt32BE(MAGIC, 4);
  txId.copy(head, 8);
  const unsigned = Buffer.concat([head, body]);
  if (!key) return unsigned;
  return Buffer.concat([unsigned, attribute(ATTR.integrity, createHmac('sha1', key).update(unsigned).digest())]);
}

function parse(buf: Buffer): StunReply {
  const attrs = new Map<number, Buffer>();
  const end = 20 + buf.readUInt16BE(2);
  for (let at = 20; at + 4 <= end;) {
    const type = buf.readUInt16BE(at);
    const len = buf.readUInt16BE(at + 2);
    attrs.set(type, buf.subarray(at + 4, at + 4 + len));
    at += 4 + len + ((4 - (len % 4)) % 4);
  }
  return { type: buf.readUInt16BE(0), attrs };
}

/** A UDP socket for STUN requests, one at a time: TURN ties its nonce to the client's address and port, so a challenge and its answer share one. */
class StunSocket {
  private readonly socket = dgram.createSocket('udp4');
  private readonly port: number;

  constructor(port: number) {
    this.port = port;
    this.socket.on('error', () => {});
  }

  request(message: Buffer, timeoutMs = 2000): Promise<StunReply> {
    return new Promise((resolve, reject) => {
      const onMessage = (msg: Buffer) => {
        clearTimeout(timer);
        resolve(parse(msg));
      };
      const timer = setTimeout(() => {
        this.socket.off('message', onMessage);
        reject(new Error('no STUN reply'));
      }, timeoutMs);
      this.socket.once('message', onMessage);
      this.socket.send(message, this.port, '127.0.0.1');
    });
  }

  close(): void {
    this.socket.close();
  }
}

async function exchange(port: number, message: Buffer, timeoutMs = 2000): Promise<StunReply> {
  const socket = new StunSocket(port);
  try {
    return await socket.request(message, timeoutMs);
  } finally {
    socket.close();
  }
}

function errorCode(reply: StunReply): number | null {
  const v = reply.attrs.get(ATTR.errorCode);
  return v ? (v[2]! & 7) * 100 + v[3]! : null;
}

export type AllocateResult = { ok: true; relayed: { address: string; port: number } } | { ok: false; code: number | null };

/**
 * A TURN Allocate (UDP) with long-term credentials, as a browser makes it: the first request is
 * challenged (401 with realm and nonce), the second is signed with MD5(username:realm:password).
 */
export async function allocate(port: number, credentials: { username: string; credential: string }): Promise<AllocateResult> {
  const socket = new StunSocket(port);
  try {
    return await allocateOn(socket, credentials);
  } finally {
    socket.close();
  }
}

async function allocateOn(socket: StunSocket, credentials: { username: string; credential: string }): Promise<AllocateResult> {
  const transport = attribute(ATTR.transport, Buffer.from([17, 0, 0, 0]));
  const challenge = await socket.request(stunMessage(0x0003, randomBytes(12), [transport]));
  if (errorCode(challenge) !== 401) return { ok: false, code: errorCode(challenge) };
  const realm = challenge.attrs.get(ATTR.realm)!;
  const nonce = challenge.attrs.get(ATTR.nonce)!;
  const key = createHash('md5').update(`${credentials.username}:${realm.toString()}:${credentials.credential}`).digest();
  const attrs = [transport, attribute(ATTR.username, Buffer.from(credentials.username)), attribute(ATTR.realm, realm), attribute(ATTR.nonce, nonce)];
  const reply = await socket.request(stunMessage(0x0003, randomBytes(12), attrs, key));
  if (reply.type !== 0x0103) return { ok: false, code: errorCode(reply) };
  // XOR-RELAYED-ADDRESS: family, port and IPv4 address XORed with the magic cookie.
  const x = reply.attrs.get(ATTR.relayed)!;
  const relayedPort = x.readUInt16BE(2) ^ (MAGIC >>> 16);
  const address = (x.readUInt32BE(4) ^ MAGIC) >>> 0;
  return { ok: true, relayed: { address: [24, 16, 8, 0].map((s) => (address >>> s) & 255).join('.'), port: relayedPort } };
}
