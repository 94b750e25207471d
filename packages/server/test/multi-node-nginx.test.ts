import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TestRedis,
  created,
  freePort,
  freshStore,
  makeInvite,
  member,
  multiNodeUnavailable,
  startNode,
  waitFor,
  type Member,
  type Node,
} from './_multi-node.ts';
import type { TestStore } from './_harness.ts';
import { uploadFile } from '@parley/sdk/node';

const NGINX = '/usr/sbin/nginx';
const DEPLOY_DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/deploy.md');

async function unavailable(): Promise<string | null> {
  if (!existsSync(NGINX)) {
    if (process.env.CI === 'true') throw new Error(`The nginx suite must run under CI: ${NGINX} is not installed (apt-get install nginx)`);
    console.warn(`Skipping the nginx suite: ${NGINX} is not installed`);
    return 'no nginx';
  }
  return multiNodeUnavailable();
}

const skip = await unavailable();

/** The nginx block of docs/deploy.md, listening on `port` and balancing over `upstreams`. */
function nginxConfigFromDocs(port: number, upstreams: number[]): string {
  const doc = readFileSync(DEPLOY_DOC, 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error('docs/deploy.md has no nginx block');
  const servers = upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n');
  const replaced = block
    .replace(/^\s*listen 80;$/m, `    listen 127.0.0.1:${port};`)
    .replace(/(upstream parley \{[\s\S]*?)((?:^\s*server [^\n]+\n)+)/m, (_, head: string) => `${head}${servers}\n`);
  if (!replaced.includes(`listen 127.0.0.1:${port};`) || !replaced.includes(servers)) throw new Error('the nginx block of docs/deploy.md changed shape');
  return replaced;
}

/**
 * A send over plain HTTP as a client makes it: a request cut off with its node (502 from nginx, or a
 * dropped connection) is sent again with the same clientMessageId, which cannot duplicate it.
 */
async function sendOverHttp(m: Member, chatId: string, i: number): Promise<{ id: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await m.client.sendMessage({ chatId, text: `http ${i}`, clientMessageId: `http-${i}` });
    } catch (err) {
      const status = (err as { status?: number }).status ?? 0;
      if (attempt >= 5 || !(status === 0 || status >= 502)) throw err;
      console.log(`HTTP send ${i} retried after status ${status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe.skipIf(skip !== null)('nodes behind nginx, configured as docs/deploy.md says', () => {
  let store: TestStore;
  let redis: TestRedis;
  let dir: string;
  let blobDir: string;
  let nginx: ChildProcess | null = null;
  let nginxLog = '';
  let front: string;
  const nodes: Node[] = [];
  const members: Member[] = [];

  beforeAll(async () => {
    [store, redis] = await Promise.all([freshStore('postgres'), TestRedis.start()]);
    // The nodes share one blob directory (the shared-filesystem setup of docs/files.md).
    blobDir = mkdtempSync(path.join(tmpdir(), 'parley-nginx-blobs-'));
    const env = {
      ...(store.env as Record<string, string>),
      REDIS_URL: redis.url,
      PARLEY_TRUST_PROXY: 'loopback',
      PARLEY_MESSAGE_RATE: '1000/10s',
      PARLEY_BLOB_DIR: blobDir,
    };
    nodes.push(...(await Promise.all(['edge-1', 'edge-2'].map((n) => startNode(n, env)))));
    const port = await freePort();
    dir = mkdtempSync(path.join(tmpdir(), 'parley-nginx-'));
    // nginx's workers run as an unprivileged user when it is started as root: they must be able to
    // write their temp files (a download bigger than the proxy buffers spills into proxy/).
    chmodSync(dir, 0o755);
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, d), { mode: 0o777 });
    for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) chmodSync(path.join(dir, d), 0o777);
    const conf = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${nginxConfigFromDocs(
  port,
  nodes.map((n) => n.port),
)}
}
`;
    writeFileSync(path.join(dir, 'nginx.conf'), conf);
    nginx = spawn(NGINX, ['-p', dir, '-e', 'stderr', '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx.stderr!.setEncoding('utf8').on('data', (d: string) => (nginxLog += d));
    await waitFor(
      `nginx to listen (${nginxLog})`,
      () =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      10_000,
      50,
    );
    front = `http://127.0.0.1:${port}`;
  }, 180_000);

  afterAll(async () => {
    for (const m of members) m.rt.close();
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx!.once('exit', r));
      nginx.kill('SIGTERM');
      await exited;
    }
    for (const n of nodes) n.proc.kill();
    await Promise.all(nodes.map((n) => n.proc.exited));
    await redis?.stop();
    await store?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (blobDir) rmSync(blobDir, { recursive: true, force: true });
  });

  it('keeps /metrics off the public side: 404 through nginx, served by each node directly', async () => {
    for (const pathname of ['/metrics', '/metrics?x=1', '/metrics/']) expect((await fetch(`${front}${pathname}`)).status).toBe(404);
    for (const n of nodes) {
      const direct = await fetch(`${n.url}/metrics`);
      expect(direct.status).toBe(200);
      expect(await direct.text()).toContain('parley_node_info');
    }
  });

  it('streams resumable uploads through nginx in 8 MiB requests to whichever node, and ranged downloads back', async () => {
    const invite = await makeInvite(store);
    const [uma, vic] = [await member(front, invite, 'uma'), await member(front, invite, 'vic')];
    const bytes = randomBytes(20 * 1024 * 1024 + 123);
    // Three PATCHes, round-robin over both nodes: nginx neither refuses nor buffers them.
    const up = await uploadFile(uma.client, bytes, { name: 'big.bin', mimeType: 'application/octet-stream' });
    expect(up.size).toBe(bytes.length);
    const chat = await uma.client.createPrivateChat({ userId: vic.id });
    await uma.client.sendMessage({
      chatId: chat.id,
      clientMessageId: 'file',
      attachments: [{ fileId: up.fileId, name: 'big.bin', mimeType: 'application/octet-stream' }],
    });
    const whole = await vic.client.downloadFile(up.fileId);
    expect(
      createHash('sha256')
        .update(new Uint8Array(await whole.arrayBuffer()))
        .digest('hex'),
    ).toBe(createHash('sha256').update(bytes).digest('hex'));
    const part = await vic.client.downloadFile(up.fileId, { range: { start: 10, end: 19 } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(10, 20));
  });

  it('serves the API and upgrades WebSockets through nginx, with no sticky sessions, and survives kill -9 of a node', async () => {
    const ready = await fetch(`${front}/readyz`);
    expect(ready.status).toBe(200);
    // Round robin: consecutive requests land on both nodes.
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await (await fetch(`${front}/readyz`)).json()).node);
    expect([...seen].sort()).toEqual(['edge-1', 'edge-2']);

    const invite = await makeInvite(store);
    const ann = await member(front, invite, 'ann');
    // nginx states the client's address itself: one the client makes up is not believed.
    const spoofed = await fetch(`${front}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
      body: JSON.stringify({ username: 'ann', password: ann.password, deviceName: 'spoofer' }),
    });
    expect(spoofed.status).toBe(200);
    const sessions = (await ann.client.listSessions()).sessions;
    expect(sessions.find((x) => x.deviceName === 'spoofer')?.ip).toBe('127.0.0.1');
    const ben = await member(front, invite, 'ben');
    const cal = await member(front, invite, 'cal');
    members.push(ann, ben, cal);
    const group = (await ann.client.createGroup({ title: 'Behind nginx', memberIds: [ben.id, cal.id] })).id;
    await Promise.all(members.map((m) => m.rt.connect()));
    const first = await ann.rt.send({ chatId: group, text: 'through nginx' }).acked;
    await waitFor('everyone receives live', () => [ben, cal].every((m) => created(m, group).some((x) => x.id === first.id)), 5000);

    const acked: Promise<{ id: string }>[] = [];
    let stop = false;
    const flow = (async () => {
      for (let i = 0; !stop && i < 100; i++) {
        for (const m of members) acked.push(m.rt.send({ chatId: group, text: `${m.name} ${i}` }).acked);
        // Plain HTTP through nginx too: a request never fails because a node died.
        acked.push(sendOverHttp(ben, group, i));
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    nodes[1]!.proc.child.kill('SIGKILL');
    await nodes[1]!.proc.exited;
    await new Promise((r) => setTimeout(r, 700));
    stop = true;
    await flow;
    const messages = await Promise.all(acked);
    expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length);
    for (const m of members) {
      await waitFor(`${m.name} to have every message once`, () => created(m, group).length === messages.length + 1, 10_000);
      const got = created(m, group);
      expect(new Set(got.map((x) => x.id)).size).toBe(got.length);
      expect(got.map((x) => x.seq)).toEqual(got.map((_, i) => got[0]!.seq + i));
    }
    console.log(`behind nginx: ${messages.length} acked messages across a kill -9, each delivered once to 3 members`);
    expect((await fetch(`${front}/readyz`)).status).toBe(200);
  });
});
