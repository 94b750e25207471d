import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListMultipartUploadsCommand, ListPartsCommand, S3Client } from '@aws-sdk/client-s3';
import { ParleyClient, UPLOADS_PATH } from '@parley/sdk';
import { freshStore, type TestStore } from './_harness.ts';
import { makeInvite, multiNodeUnavailable, startNode, TestRedis, waitFor, type Node } from './_multi-node.ts';
import { s3Client, startSwift, swiftUnavailable, type Swift } from './_swift.ts';

// Two server processes on one PostgreSQL, one Redis and one S3 bucket (Swift). An upload starts on
// node A and stalls mid-PATCH; the client comes back through node B, which must wait for A's lock
// (A's PATCH is stopped after tus's 3 s lockDrainTimeout) before it answers the offset, then the
// upload finishes through B with the right sha256.

const MIB = 1024 * 1024;
const SIZE = 24 * MIB;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const LOCK_DRAIN_MS = 3000;

const unavailable = (await multiNodeUnavailable()) ?? swiftUnavailable();

describe.skipIf(unavailable !== null)('uploads across two nodes sharing S3 and a Redis upload lock', () => {
  let store: TestStore;
  let redis: TestRedis;
  let swift: Swift;
  let s3: S3Client;
  let invite: string;
  let nodes: Node[] = [];
  const bytes = randomBytes(SIZE);

  beforeAll(async () => {
    [store, redis, swift] = await Promise.all([freshStore('postgres'), TestRedis.start(), startSwift()]);
    s3 = s3Client(swift, S3Client);
    invite = await makeInvite(store);
  }, 120_000);
  afterAll(async () => {
    for (const n of nodes) n.proc.kill();
    s3?.destroy();
    await Promise.all([swift?.stop(), redis?.stop()]);
    await store?.drop();
  });

  async function twoNodes(env: Record<string, string>): Promise<[Node, Node]> {
    for (const n of nodes) n.proc.kill();
    await Promise.all(nodes.map((n) => n.proc.exited));
    const full = { ...(store.env as Record<string, string>), ...swift.env, ...env };
    nodes = await Promise.all([startNode('node-a', full), startNode('node-b', full)]);
    return nodes as [Node, Node];
  }

  async function partsInBucket(key: string): Promise<number> {
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: swift.bucket, Prefix: key }));
    const uploadId = uploads.Uploads?.[0]?.UploadId;
    if (!uploadId) return 0;
    return (await s3.send(new ListPartsCommand({ Bucket: swift.bucket, Key: key, UploadId: uploadId }))).Parts?.length ?? 0;
  }

  /**
   * Creates an upload on A and PATCHes 10 MiB into it with a body that then stalls (a client whose
   * connection hangs), waits until the bucket holds its first part, then asks B for the offset.
   */
  async function stallOnAThenHeadOnB(a: Node, b: Node, username: string) {
    const client = new ParleyClient({ baseUrl: a.url });
    await client.register({ inviteCode: invite, username, password: `${username} password`, displayName: username });
    await client.login({ username, password: `${username} password`, deviceName: 'laptop' });
    const headers = { 'tus-resumable': '1.0.0', authorization: `Bearer ${client.session!.accessToken}` };
    const created = await fetch(`${a.url}${UPLOADS_PATH}`, { method: 'POST', headers: { ...headers, 'upload-length': String(SIZE) } });
    expect(created.status).toBe(201);
    const path = new URL(created.headers.get('location')!, a.url).pathname;
    const id = path.split('/').pop()!;

    let stalled!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        stalled = c;
        c.enqueue(bytes.subarray(0, 10 * MIB));
      },
    });
    let aEndedAt = 0;
    const onA = fetch(`${a.url}${path}`, {
      method: 'PATCH',
      headers: { ...headers, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit).then(
      async (res) => {
        aEndedAt = performance.now();
        return { status: res.status, offset: res.headers.get('upload-offset'), text: await res.text() };
      },
      (err: Error) => {
        aEndedAt = performance.now();
        return { status: 0, offset: null, text: err.message };
      },
    );
    await waitFor('the first part of the stalled PATCH to reach the bucket', async () => (await partsInBucket(id)) >= 1, 30_000, 100);

    const started = performance.now();
    const head = await fetch(`${b.url}${path}`, { method: 'HEAD', headers });
    const headMs = performance.now() - started;
    return { id, path, headers, head, headMs, onA, aEndedAt: () => aEndedAt, started, stalled };
  }

  it('B waits for the lock A holds, then resumes from the offset A stored and finishes with the right sha256', async () => {
    const [a, b] = await twoNodes({ REDIS_URL: redis.url });
    const s = await stallOnAThenHeadOnB(a, b, 'alice');
    expect(s.head.status).toBe(200);
    const offset = Number(s.head.headers.get('upload-offset'));
    console.log(`[redis lock] B's HEAD waited ${s.headMs.toFixed(0)} ms; offset ${(offset / MIB).toFixed(1)} MiB`);
    // B answered only after A's PATCH was stopped: it waited for the drain, not for nothing.
    expect(s.headMs).toBeGreaterThanOrEqual(LOCK_DRAIN_MS - 300);
    // ...and not much longer: A was asked to let go. Had the request not reached A, B would wait for
    // the server's 30 s request timeout to cut A's PATCH.
    expect(s.headMs).toBeLessThan(LOCK_DRAIN_MS + 9000);
    const outcome = await s.onA;
    expect(s.aEndedAt()).toBeLessThanOrEqual(performance.now());
    expect(s.aEndedAt() - s.started).toBeLessThan(s.headMs + 50);
    // tus ends A's PATCH where its bytes stopped, which is where B resumes.
    if (outcome.status === 204) expect(Number(outcome.offset)).toBe(offset);
    s.stalled.close();
    expect(offset).toBeGreaterThanOrEqual(8 * MIB);
    expect(offset).toBeLessThanOrEqual(10 * MIB);

    // The rest through B, in 8 MiB PATCHes from the offset B gave.
    let at = offset;
    let last: Response | null = null;
    while (at < SIZE) {
      const end = Math.min(at + 8 * MIB, SIZE);
      last = await fetch(`${b.url}${s.path}`, {
        method: 'PATCH',
        headers: { ...s.headers, 'upload-offset': String(at), 'content-type': 'application/offset+octet-stream' },
        body: bytes.subarray(at, end),
      });
      expect(last.status).toBe(204);
      at = Number(last.headers.get('upload-offset'));
      expect(at).toBe(end);
    }
    expect(last!.headers.get('parley-file-id')).toBe(s.id);
    expect(last!.headers.get('parley-sha256')).toBe(sha256(bytes));
    // And A serves it (a presigned GET of the object in the shared bucket).
    const owner = new ParleyClient({ baseUrl: a.url });
    await owner.login({ username: 'alice', password: 'alice password', deviceName: 'desktop' });
    const res = await owner.downloadFile(s.id);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(bytes));
  }, 120_000);

  it('control: without Redis each node locks only in its own process, and B answers at once while A still holds the upload', async () => {
    const [a, b] = await twoNodes({});
    const s = await stallOnAThenHeadOnB(a, b, 'bob');
    console.log(`[memory lock] B's HEAD took ${s.headMs.toFixed(0)} ms while A's PATCH was still open`);
    expect(s.head.status).toBe(200);
    expect(s.headMs).toBeLessThan(LOCK_DRAIN_MS - 300);
    // A's request is still open: nothing told it to stop.
    expect(s.aEndedAt()).toBe(0);
    s.stalled.close();
    await s.onA;
  }, 120_000);
});
