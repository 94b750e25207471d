import { writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectFiles } from '../src/modules/files/collect.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';

/**
 * Sends that attach files race the cleanup job collecting them, on PostgreSQL (SQLite serialises
 * writers). A collector that selects unreferenced files and then deletes them leaves messages
 * pointing at deleted files; the conditional state transition of collectFiles never does.
 */
/** Files each collector pass takes: small, so that passes and sends interleave. */
const BATCH = 4;

const runOn = (await stores()).includes('postgres') ? describe : describe.skip;

runOn('file GC racing sends on postgres', () => {
  let t: TestServer;
  let alice: TestUser;
  let chatId: string;
  let round = 0;
  beforeAll(async () => {
    t = await startTestServer('postgres', { PARLEY_MESSAGE_RATE: '100000/10s', PARLEY_FILE_GRACE: '0' });
    alice = await t.user('alice');
    chatId = (await alice.client.createGroup({ title: 'race' })).id;
  });
  afterAll(async () => t?.close());

  /**
   * `count` finished, unreferenced files of alice's with their blobs on disk, falling past the grace
   * one every 2 ms from now on: collectors and senders meet on every file while the race runs.
   */
  async function seed(count: number): Promise<string[]> {
    const start = Date.now() + 20;
    round += 1;
    const ids = Array.from({ length: count }, (_, i) => `race${round}_${i}`);
    const dir = t.server.ctx.config.files.blobDir;
    for (const id of ids) writeFileSync(path.join(dir, id), id);
    await t.server.ctx.db.kysely
      .insertInto('files')
      .values(
        ids.map((id, i) => ({
          id,
          owner_id: alice.id,
          size: id.length,
          name: id,
          mime_type: 'text/plain',
          state: 'ready' as const,
          ref_count: 0,
          created_at: 0,
          expires_at: null,
          unreferenced_since: start + i * 2,
        })),
      )
      .execute();
    return ids;
  }

  /** Six senders attach the files, one message each, while `collect` runs in two loops. */
  async function race(ids: string[], collect: () => Promise<void>): Promise<{ sent: number; refused: number; dangling: number }> {
    let stop = false;
    let sent = 0;
    let refused = 0;
    const queue = [...ids].sort(() => Math.random() - 0.5);
    const sender = async () => {
      for (let id = queue.pop(); id; id = queue.pop()) {
        try {
          await alice.client.sendMessage({ chatId, clientMessageId: `m_${id}`, attachments: [{ fileId: id, name: id, mimeType: 'text/plain' }] });
          sent += 1;
        } catch (err) {
          if ((err as { status?: number }).status !== 410) throw err;
          refused += 1;
        }
      }
    };
    const collector = async () => {
      while (!stop) await collect();
    };
    const collectors = [collector(), collector()];
    await Promise.all(Array.from({ length: 6 }, sender));
    stop = true;
    await Promise.all(collectors);
    // A reference is dangling when its file row is gone or leaving, or its blob is gone.
    const refs = await t.server.ctx.db.kysely
      .selectFrom('file_refs')
      .leftJoin('files', 'files.id', 'file_refs.file_id')
      .select(['file_refs.file_id', 'files.state'])
      .where('file_refs.file_id', 'in', ids)
      .execute();
    const dir = t.server.ctx.config.files.blobDir;
    const dangling = refs.filter((r) => r.state !== 'ready' || !existsSync(path.join(dir, r.file_id))).length;
    return { sent, refused, dangling };
  }

  it('a naive select-then-delete collector loses the race (the control: the test can fail)', async () => {
    const ctx = t.server.ctx;
    const db = ctx.db.kysely;
    const naive = async () => {
      const ids = (
        await db
          .selectFrom('files')
          .select('id')
          .where('state', '=', 'ready')
          .where('ref_count', '=', 0)
          .where('unreferenced_since', '<', Date.now())
          .where('id', 'like', 'race%')
          .limit(BATCH)
          .execute()
      ).map((r) => r.id);
      if (ids.length === 0) return sleep(1).then(() => {});
      await sleep(5);
      for (const id of ids) await ctx.blobs.delete(id);
      await db.deleteFrom('files').where('id', 'in', ids).execute();
    };
    // A race, so a round may be lucky; three in a row are not.
    let dangling = 0;
    for (let round = 0; round < 3 && dangling === 0; round++) {
      const result = await race(await seed(400), naive);
      console.log('naive collector:', result);
      dangling += result.dangling;
    }
    expect(dangling).toBeGreaterThan(0);
  }, 60_000);

  it('collectFiles never leaves a message pointing at a collected file', async () => {
    const ids = await seed(400);
    const result = await race(ids, async () => {
      await collectFiles(t.server.ctx, { batch: BATCH });
    });
    console.log('collectFiles:', result);
    expect(result.dangling).toBe(0);
    expect(result.sent + result.refused).toBe(ids.length);
    // Everything not sent was collected; everything sent is still there.
    const left = await t.server.ctx.db.kysely.selectFrom('files').select(['id', 'ref_count']).where('id', 'in', ids).execute();
    expect(left.length).toBe(result.sent);
    expect(left.every((r) => Number(r.ref_count) === 1)).toBe(true);
  }, 60_000);
});
