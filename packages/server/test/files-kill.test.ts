import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyClient } from '@parley/sdk';
import { nodeUpload } from '@parley/sdk/node';
import { freshStore, type TestStore } from './_harness.ts';
import { spawnServe, type ServeProcess } from './_cli.ts';
import { freePort } from './_multi-node.ts';
import { startSwift, swiftUnavailable, type Swift } from './_swift.ts';
import { buildConfig } from '../src/config/config.ts';
import { createContext } from '../src/context.ts';
import { createLogger } from '../src/logger.ts';
import { createInvite } from '../src/modules/invites/invites.ts';

// The server is SIGKILLed in the middle of a PATCH; restarted on the same data, it reports the offset
// of what reached storage, and the client resumes from there to a file with the right sha256.

const MIB = 1024 * 1024;
const SIZE = 48 * MIB;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const tmp = mkdtempSync(path.join(tmpdir(), 'parley-files-kill-'));
const bytes = randomBytes(SIZE);
const file = path.join(tmp, 'big.bin');
writeFileSync(file, bytes);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * The file's bytes as a stream that slows down after 16 MiB (1 MiB per 20 ms): the server takes
 * loopback bytes as fast as they come, so at full speed the client's progress could jump from one
 * PATCH's end to the next and the kill would land between requests instead of inside one.
 */
function paced(all: Buffer): Readable {
  return Readable.from(
    (async function* () {
      for (let at = 0; at < all.length; at += MIB) {
        if (at >= 16 * MIB) await new Promise((r) => setTimeout(r, 20));
        yield all.subarray(at, at + MIB);
      }
    })(),
  );
}

const adapters: ('local' | 's3')[] = swiftUnavailable() ? ['local'] : ['local', 's3'];

describe.each(adapters)('kill -9 of the server mid-upload, blobs on %s', (adapter) => {
  let store: TestStore;
  let swift: Swift | null = null;
  let env: Record<string, string>;
  const procs: ServeProcess[] = [];

  beforeAll(async () => {
    store = await freshStore('sqlite');
    if (adapter === 's3') swift = await startSwift();
    // The same port after the restart: the upload URL the client holds names it.
    env = {
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      ...(store.env as Record<string, string>),
      ...(swift?.env ?? {}),
    };
  }, 120_000);
  afterAll(async () => {
    for (const p of procs) p.kill();
    await store?.drop();
    await swift?.stop();
  });

  async function serve(): Promise<ServeProcess> {
    const p = await spawnServe(env, 60_000);
    procs.push(p);
    return p;
  }

  it('resumes after the restart from the offset the server reports, to the same sha256', async () => {
    const ctx = await createContext(buildConfig(env), { log: createLogger('silent') });
    await ctx.db.migrate();
    const code = (await createInvite(ctx, null, { maxUses: 1 })).code!;
    await ctx.close();

    const first = await serve();
    const alice = new ParleyClient({ baseUrl: first.url });
    await alice.register({ inviteCode: code, username: 'alice', password: 'alice password', displayName: 'Alice' });
    await alice.login({ username: 'alice', password: 'alice password', deviceName: 'laptop' });

    // Local: one PATCH for the whole file, killed while it streams. S3: 16 MiB PATCHes (two parts
    // each), killed inside the third, since parts only count once the bucket has them.
    const [chunkSize, killAfter] = adapter === 'local' ? [SIZE, 20 * MIB] : [16 * MIB, 40 * MIB];
    let killedAt = 0;
    const up = await nodeUpload(alice, paced(bytes), {
      size: SIZE,
      name: 'big.bin',
      chunkSize,
      retryDelays: [],
      onProgress: (sent) => {
        if (sent >= killAfter && killedAt === 0) {
          killedAt = sent;
          first.kill();
        }
      },
    });
    await expect(up.start()).rejects.toMatchObject({ code: 'network_error' });
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThan(0);

    const second = await serve();
    expect(second.url).toBe(first.url);
    const head = await fetch(new URL(up.url!), {
      method: 'HEAD',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${alice.session!.accessToken}` },
    });
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get('upload-offset'));
    console.log(`[${adapter}] killed at ${(killedAt / MIB).toFixed(1)} MiB sent; the restarted server had ${(offset / MIB).toFixed(1)} MiB`);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(SIZE);

    const progress: number[] = [];
    const resumed = await nodeUpload(alice, file, { uploadUrl: up.url!, chunkSize: 8 * MIB, onProgress: (sent) => progress.push(sent) });
    const done = await resumed.start();
    expect(progress[0]).toBeGreaterThanOrEqual(offset);
    expect(done.fileId).toBe(new URL(up.url!).pathname.split('/').pop());
    const res = await alice.downloadFile(done.fileId);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(bytes));

    const check = await createContext(buildConfig(env), { log: createLogger('silent') });
    try {
      const row = await check.db.kysely.selectFrom('files').selectAll().where('id', '=', done.fileId).executeTakeFirstOrThrow();
      expect([row.state, row.sha256]).toEqual(['ready', sha256(bytes)]);
    } finally {
      await check.close();
    }
  }, 180_000);
});
