import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { UPLOADS_PATH, uploadFile as uploadBuffer, type ParleyError } from '@parley/sdk';
import { nodeUpload, uploadFile } from '@parley/sdk/node';
import { runCleanup } from '../src/modules/cleanup/cleanup.ts';
import { startTestServer, type TestServer, type TestUser } from './_harness.ts';
import { s3Client, startSwift, swiftUnavailable, type Swift } from './_swift.ts';

// The blob-store contract, through the real server and the SDK, once per adapter: the local
// directory, and S3 on OpenStack Swift's S3 API.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MIB = 1024 * 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

const tmp = mkdtempSync(path.join(tmpdir(), 'parley-blob-contract-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function randomFile(name: string, size: number): { file: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  const file = path.join(tmp, name);
  writeFileSync(file, bytes);
  return { file, bytes };
}

const adapters: ('local' | 's3')[] = swiftUnavailable() ? ['local'] : ['local', 's3'];

describe.each(adapters)('the blob store contract on %s', (adapter) => {
  let t: TestServer;
  let swift: Swift | null = null;
  let s3: S3Client | null = null;
  let n = 0;
  let offset = 0;
  const name = (base: string) => `${base}${++n}`;
  const auth = (u: TestUser) => ({ authorization: `Bearer ${u.session.accessToken}` });
  const tusHeaders = { 'tus-resumable': '1.0.0' };

  /** The keys the store holds for a file: objects in the bucket, or files in the directory. */
  async function storedKeys(id: string): Promise<string[]> {
    if (s3) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: swift!.bucket, Prefix: id }));
      return (listed.Contents ?? []).map((o) => o.Key!).sort();
    }
    const dir = t.server.ctx.config.files.blobDir;
    return readdirSync(dir)
      .filter((f) => f.startsWith(id))
      .sort();
  }

  async function openMultipartUploads(id: string): Promise<number> {
    if (!s3) return 0;
    const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: swift!.bucket, Prefix: id }));
    return (res.Uploads ?? []).length;
  }

  async function fileRow(id: string) {
    return t.server.ctx.db.kysely.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }

  beforeAll(async () => {
    let env = {};
    if (adapter === 's3') {
      const started = performance.now();
      swift = await startSwift();
      console.log(`[s3] Swift ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      s3 = s3Client(swift, S3Client);
      env = swift.env;
    }
    t = await startTestServer('sqlite', { PARLEY_LOGIN_LIMIT: '1000/60s', ...env }, { now: () => Date.now() + offset });
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    s3?.destroy();
    await swift?.stop();
  });

  it('round-trips a 24 MiB file from a path: the same sha256 downloaded, stored on the row, and the object in the store', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const { file, bytes } = randomFile(`big-${adapter}.bin`, 24 * MIB);
    const started = performance.now();
    const up = await uploadFile(alice.client, file, { mimeType: 'application/octet-stream' });
    const up_s = (performance.now() - started) / 1000;
    expect(up.size).toBe(24 * MIB);
    expect((await fileRow(up.fileId)).sha256).toBe(sha256(bytes));
    // The SDK hands the uploader the server's digest too.
    expect(up.sha256).toBe(sha256(bytes));
    if (s3) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: swift!.bucket, Key: up.fileId }));
      expect(head.ContentLength).toBe(24 * MIB);
    }
    // Finished: no tus leftovers but its metadata (local .json, S3 .info), and no open multipart upload.
    expect(await storedKeys(up.fileId)).toEqual([up.fileId, `${up.fileId}${s3 ? '.info' : '.json'}`]);
    expect(await openMultipartUploads(up.fileId)).toBe(0);

    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    await alice.client.sendMessage({
      chatId: chat.id,
      clientMessageId: 'big',
      attachments: [{ fileId: up.fileId, name: 'big.bin', mimeType: 'application/octet-stream' }],
    });
    const downStarted = performance.now();
    const res = await bob.client.downloadFile(up.fileId);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment/);
    const got = new Uint8Array(await res.arrayBuffer());
    const down_s = (performance.now() - downStarted) / 1000;
    expect(got.length).toBe(24 * MIB);
    expect(sha256(got)).toBe(sha256(bytes));
    console.log(`[${adapter}] 24 MiB: upload ${(24 / up_s).toFixed(0)} MiB/s, download ${(24 / down_s).toFixed(0)} MiB/s`);
  }, 90_000);

  it('answers the last PATCH with parley-sha256 beside parley-file-id', async () => {
    const alice = await t.user(name('alice'));
    const created = await fetch(`${t.url}${UPLOADS_PATH}`, { method: 'POST', headers: { ...tusHeaders, ...auth(alice), 'upload-length': '11' } });
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location')!, t.url);
    const patch = await fetch(url, {
      method: 'PATCH',
      headers: { ...tusHeaders, ...auth(alice), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: 'hello world',
    });
    expect(patch.status).toBe(204);
    const id = url.pathname.split('/').pop()!;
    expect(patch.headers.get('parley-file-id')).toBe(id);
    expect(patch.headers.get('parley-sha256')).toBe(sha256(Buffer.from('hello world')));
    expect((await fileRow(id)).sha256).toBe(patch.headers.get('parley-sha256'));
  });

  it('resumes an upload aborted mid-way from the offset the server reports', async () => {
    const alice = await t.user(name('alice'));
    const { file, bytes } = randomFile(`resume-${adapter}.bin`, 20 * MIB);
    let paused: Promise<void> | null = null;
    const progress: number[] = [];
    // 3 MiB PATCHes: on S3 each is under the 5 MiB part minimum, so the store keeps it as a pending piece.
    const up = await nodeUpload(alice.client, file, {
      chunkSize: 3 * MIB,
      onProgress: (sent) => {
        progress.push(sent);
        if (sent >= 8 * MIB && !paused) paused = up.pause();
      },
    });
    await expect(up.start()).rejects.toMatchObject({ code: 'aborted' });
    await paused;
    const head = await fetch(new URL(up.url!, t.url), { method: 'HEAD', headers: { ...tusHeaders, ...auth(alice) } });
    expect(head.status).toBe(200);
    const onServer = Number(head.headers.get('upload-offset'));
    expect(onServer).toBeGreaterThan(0);
    expect(onServer).toBeLessThan(20 * MIB);
    progress.length = 0;
    const done = await up.start();
    expect(progress[0]).toBeGreaterThanOrEqual(onServer);
    const res = await alice.client.downloadFile(done.fileId);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(bytes));
    expect((await fileRow(done.fileId)).sha256).toBe(sha256(bytes));
  }, 90_000);

  it('serves Range requests: 206 for a range and a suffix, 416 past the end', async () => {
    const alice = await t.user(name('alice'));
    const bytes = randomBytes(MIB + 123);
    // The SDK's own uploadFile (what the browser uses), here with a Buffer.
    const up = await uploadBuffer(alice.client, bytes, { name: 'r.bin', mimeType: 'application/octet-stream' });
    const part = await alice.client.downloadFile(up.fileId, { range: { start: 1000, end: 1999 } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(1000, 2000))).toBe(true);
    // Raw fetches from here: the SDK asks only for start-end ranges.
    const get = (range: string) => fetch(`${t.url}/api/v1/files/${up.fileId}`, { headers: { ...auth(alice), range } });
    const suffix = await get('bytes=-16');
    expect(suffix.status).toBe(206);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(bytes.length - 16))).toBe(true);
    const past = await get(`bytes=${bytes.length + 10}-`);
    expect(past.status).toBe(416);
    if (!s3) expect(past.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    await past.arrayBuffer();
  });

  it('gives a non-member the same 404 as a missing file, with no redirect', async () => {
    const [alice, carol] = await t.users(name('alice'), name('carol'));
    const up = await uploadFile(alice.client, Buffer.from('private'), { name: 'p.txt', mimeType: 'text/plain' });
    const get = (id: string) => fetch(`${t.url}/api/v1/files/${id}`, { headers: auth(carol), redirect: 'manual' });
    const stranger = await get(up.fileId);
    const missing = await get('f_doesnotexist');
    expect(stranger.status).toBe(404);
    expect(stranger.headers.get('location')).toBeNull();
    const [a, b] = [await stranger.json(), await missing.json()];
    expect(a.error.code).toBe('not_found');
    expect(a.error.code).toBe(b.error.code);
    expect(a.error.message.replace(up.fileId, 'ID')).toBe(b.error.message.replace('f_doesnotexist', 'ID'));
    expect((await fail(carol.client.downloadFile(up.fileId))).status).toBe(404);
  });

  // S3 only: the local store serves the bytes itself.
  if (adapter === 's3')
    it('redirects a member to a presigned GET that names the file, and that expires and cannot be altered', async () => {
      const alice = await t.user(name('alice'));
      const bytes = Buffer.from('presigned content ✓');
      const up = await uploadFile(alice.client, bytes, { name: 'naïve résumé.txt', mimeType: 'text/plain' });
      const res = await fetch(`${t.url}/api/v1/files/${up.fileId}`, { headers: auth(alice), redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('cache-control')).toMatch(/no-store/);
      const location = new URL(res.headers.get('location')!);
      expect(location.origin).toBe(swift!.endpoint);
      expect(location.searchParams.get('X-Amz-Expires')).toBe('300');
      // No token of ours in the URL: only the S3 signature.
      expect(location.toString()).not.toContain(alice.session.accessToken);
      const direct = await fetch(location);
      expect(direct.status).toBe(200);
      expect(direct.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(direct.headers.get('content-disposition')).toBe(
        `attachment; filename="na_ve r_sum_.txt"; filename*=UTF-8''${encodeURIComponent('naïve résumé.txt')}`,
      );
      expect(Buffer.from(await direct.arrayBuffer()).equals(bytes)).toBe(true);

      const sig = location.searchParams.get('X-Amz-Signature')!;
      const tampered = new URL(location);
      tampered.searchParams.set('X-Amz-Signature', `${sig[0] === '0' ? '1' : '0'}${sig.slice(1)}`);
      const refused = await fetch(tampered);
      expect(refused.status).toBe(403);
      await refused.arrayBuffer();
      const otherKey = new URL(location);
      otherKey.pathname = otherKey.pathname.replace(up.fileId, 'f_someoneelse');
      expect((await fetch(otherKey)).status).toBe(403);

      // A URL the server signed more than 5 minutes ago has expired.
      offset = -400_000;
      let old: Response;
      try {
        old = await fetch(`${t.url}/api/v1/files/${up.fileId}`, { headers: auth(alice), redirect: 'manual' });
      } finally {
        offset = 0;
      }
      expect(old.status).toBe(302);
      const expired = await fetch(old.headers.get('location')!);
      expect(expired.status).toBe(403);
      expect(await expired.text()).toMatch(/expired/i);
    });

  it('cancels an unfinished upload: nothing of it stays in the store', async () => {
    const alice = await t.user(name('alice'));
    const created = await fetch(`${t.url}${UPLOADS_PATH}`, { method: 'POST', headers: { ...tusHeaders, ...auth(alice), 'upload-length': String(10 * MIB) } });
    const url = new URL(created.headers.get('location')!, t.url);
    const id = url.pathname.split('/').pop()!;
    const patch = await fetch(url, {
      method: 'PATCH',
      headers: { ...tusHeaders, ...auth(alice), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: randomBytes(MIB),
    });
    expect(patch.status).toBe(204);
    expect((await storedKeys(id)).length).toBeGreaterThan(0);
    const del = await fetch(url, { method: 'DELETE', headers: { ...tusHeaders, ...auth(alice) } });
    expect(del.status).toBe(204);
    expect(await storedKeys(id)).toEqual([]);
    expect(await openMultipartUploads(id)).toBe(0);
  });

  it('collects an unreferenced file and an abandoned upload (with its .info and .part on S3) from the store', async () => {
    const alice = await t.user(name('alice'));
    const unsent = await uploadFile(alice.client, randomBytes(6 * MIB), { name: 'u.bin', mimeType: 'application/octet-stream' });
    const created = await fetch(`${t.url}${UPLOADS_PATH}`, { method: 'POST', headers: { ...tusHeaders, ...auth(alice), 'upload-length': String(12 * MIB) } });
    const url = new URL(created.headers.get('location')!, t.url);
    const abandoned = url.pathname.split('/').pop()!;
    const patch = await fetch(url, {
      method: 'PATCH',
      headers: { ...tusHeaders, ...auth(alice), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: randomBytes(2 * MIB),
    });
    expect(patch.status).toBe(204);
    expect(await storedKeys(abandoned)).toEqual(s3 ? [`${abandoned}.info`, `${abandoned}.part`] : [abandoned, `${abandoned}.json`]);
    if (s3) expect(await openMultipartUploads(abandoned)).toBe(1);
    expect((await storedKeys(unsent.fileId)).length).toBe(2);

    offset = 2 * 86_400_000;
    try {
      const report = await runCleanup(t.server.ctx);
      expect(report.files).toBeGreaterThanOrEqual(1);
      expect(report.uploads).toBeGreaterThanOrEqual(1);
    } finally {
      offset = 0;
    }
    expect(await storedKeys(unsent.fileId)).toEqual([]);
    expect(await storedKeys(abandoned)).toEqual([]);
    expect(await openMultipartUploads(abandoned)).toBe(0);
    if (!s3) expect(existsSync(path.join(t.server.ctx.config.files.blobDir, unsent.fileId))).toBe(false);
  }, 60_000);
});

describe('loading the S3 adapter', () => {
  /** How many modules of the AWS SDK a server started with this environment has loaded (in a child process). */
  function awsModulesLoaded(env: Record<string, string>): number {
    const dir = mkdtempSync(path.join(tmp, 'load-'));
    const code = `
      import { createRequire } from 'node:module';
      import { buildConfig, startServer } from '@parley/server';
      const server = await startServer(buildConfig({ PORT: '0', LOG_LEVEL: 'silent', PARLEY_DATA_DIR: ${JSON.stringify(dir)}, ...${JSON.stringify(env)} }));
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/@aws-sdk/'));
      await server.close();
      console.log('loaded=' + loaded.length);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const m = /loaded=(\d+)/.exec(r.stdout);
    if (!m) throw new Error(`the child failed: ${r.stdout}${r.stderr}`);
    return Number(m[1]);
  }

  it('the default local store never loads the AWS SDK; the s3 store does', () => {
    expect(awsModulesLoaded({})).toBe(0);
    // The control: the same count sees the SDK when S3 is configured (the client connects lazily).
    expect(
      awsModulesLoaded({
        PARLEY_BLOB_STORE: 's3',
        PARLEY_S3_ENDPOINT: 'http://127.0.0.1:9',
        PARLEY_S3_BUCKET: 'b-b',
        PARLEY_S3_ACCESS_KEY_ID: 'k',
        PARLEY_S3_SECRET_ACCESS_KEY: 's',
      }),
    ).toBeGreaterThan(0);
  }, 90_000);
});
