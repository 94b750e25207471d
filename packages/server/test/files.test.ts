import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPLOADS_PATH, type ParleyError } from '@parley/sdk';
import { nodeUpload, uploadFile } from '@parley/sdk/node';
import { collectFiles } from '../src/modules/files/collect.ts';
import { runCleanup } from '../src/modules/cleanup/cleanup.ts';
import { startTestServer, stores, type TestServer, type TestUser } from './_harness.ts';
import { rawSocket } from './_ws.ts';

const MIB = 1024 * 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e as ParleyError,
  );

const tmp = mkdtempSync(path.join(tmpdir(), 'parley-files-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A file of random bytes on disk, and its bytes. */
function randomFile(name: string, size: number): { file: string; bytes: Buffer } {
  const bytes = randomBytes(size);
  const file = path.join(tmp, name);
  writeFileSync(file, bytes);
  return { file, bytes };
}

describe.each(await stores())('files on %s', (kind) => {
  let t: TestServer;
  let n = 0;
  let offset = 0;
  const name = (base: string) => `${base}${++n}`;
  const blobDir = () => t.server.ctx.config.files.blobDir;
  const blobs = () => readdirSync(blobDir()).sort();
  const fileRows = async () =>
    Number(
      (
        await t.server.ctx.db.kysely
          .selectFrom('files')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  /** A raw tus creation request (no client library), to see exactly what the server answers. */
  const create = (user: TestUser | null, length: number | string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${UPLOADS_PATH}`, {
      method: 'POST',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-length': String(length),
        ...(user ? { authorization: `Bearer ${user.session.accessToken}` } : {}),
        ...headers,
      },
    });
  beforeAll(async () => {
    t = await startTestServer(
      kind,
      {
        PARLEY_LOGIN_LIMIT: '1000/60s',
        PARLEY_MESSAGE_RATE: '10000/10s',
        PARLEY_UPLOAD_BYTES_PER_HOUR: String(150 * MIB),
        PARLEY_MAX_UNFINISHED_UPLOADS: '3',
      },
      { now: () => Date.now() + offset },
    );
  });
  afterAll(async () => t?.close());

  it('uploads 40 MiB from a path, attaches it, and a member downloads the same bytes; a stranger gets 404', async () => {
    const [alice, bob, carol] = await t.users(name('alice'), name('bob'), name('carol'));
    const { file, bytes } = randomFile(`big-${kind}.bin`, 40 * MIB);
    const started = performance.now();
    let last = 0;
    const up = await uploadFile(alice.client, file, { mimeType: 'application/octet-stream', onProgress: (sent) => (last = sent) });
    const seconds = (performance.now() - started) / 1000;
    console.log(`[${kind}] 40 MiB upload: ${seconds.toFixed(2)} s, ${(40 / seconds).toFixed(0)} MiB/s`);
    expect(last).toBe(40 * MIB);
    expect(up.size).toBe(40 * MIB);
    expect(readdirSync(blobDir())).toContain(up.fileId);

    const group = await alice.client.createGroup({ title: 'Files', memberIds: [bob.id] });
    // What the web client sends for media: a placeholder, a small preview, and for a voice note its loudness.
    const media = { thumbhash: 'HBkSHYSIeHiPiHh8eJd4eTN0EEQG', thumbnail: 'UklGRhQAAABXRUJQ', voice: true, waveform: 'AAECAwQF' };
    const msg = await alice.client.sendMessage({
      chatId: group.id,
      clientMessageId: 'f1',
      attachments: [{ fileId: up.fileId, name: 'big.bin', mimeType: 'application/octet-stream', width: 10, height: 20, ...media }],
    });
    expect(msg.text).toBe('');
    expect(msg.attachments).toEqual([
      { fileId: up.fileId, name: 'big.bin', mimeType: 'application/octet-stream', size: 40 * MIB, width: 10, height: 20, ...media },
    ]);
    // The attachments ride the chat's history and log.
    const { messages } = await bob.client.listMessages({ chatId: group.id });
    expect(messages.at(-1)!.attachments).toEqual(msg.attachments);

    const res = await bob.client.downloadFile(up.fileId);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toMatch(/sandbox/);
    expect(res.headers.get('cache-control')).toMatch(/immutable/);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(bytes));

    const part = await bob.client.downloadFile(up.fileId, { range: { start: 1000, end: 1999 } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${40 * MIB}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(1000, 2000))).toBe(true);

    const stranger = await fail(carol.client.downloadFile(up.fileId));
    const missing = await fail(carol.client.downloadFile('f_doesnotexist'));
    expect([stranger.status, stranger.code]).toEqual([404, 'not_found']);
    expect([missing.status, missing.code]).toEqual([404, 'not_found']);

    // Deleted for everyone: members get 404 at once, and no sync shows the attachment any more.
    await alice.client.deleteMessage({ chatId: group.id, messageId: msg.id });
    expect((await fail(bob.client.downloadFile(up.fileId))).status).toBe(404);
    const after = await bob.client.listMessages({ chatId: group.id });
    expect(after.messages.at(-1)!.attachments).toBeUndefined();
    const row = await t.server.ctx.db.kysely.selectFrom('files').selectAll().where('id', '=', up.fileId).executeTakeFirstOrThrow();
    expect(Number(row.ref_count)).toBe(0);
  }, 60_000);

  it('resumes an aborted upload from the offset the server has', async () => {
    const alice = await t.user(name('alice'));
    const { file, bytes } = randomFile(`resume-${kind}.bin`, 24 * MIB);
    let paused: Promise<void> | null = null;
    const progress: number[] = [];
    const up = await nodeUpload(alice.client, file, {
      chunkSize: 2 * MIB,
      onProgress: (sent) => {
        progress.push(sent);
        if (sent >= 9 * MIB && !paused) paused = up.pause();
      },
    });
    await expect(up.start()).rejects.toMatchObject({ code: 'aborted' });
    await paused;
    const head = await fetch(`${t.url}${new URL(up.url!, t.url).pathname}`, {
      method: 'HEAD',
      headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${alice.session.accessToken}` },
    });
    const offsetOnServer = Number(head.headers.get('upload-offset'));
    expect(offsetOnServer).toBeGreaterThan(0);
    expect(offsetOnServer).toBeLessThan(24 * MIB);
    progress.length = 0;
    const done = await up.start();
    // The resumed run starts where the server is, not at 0.
    expect(progress[0]).toBeGreaterThanOrEqual(offsetOnServer);
    const res = await alice.client.downloadFile(done.fileId);
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(bytes));
  }, 60_000);

  it('refuses a declared length over the limit with 413, and a request without a token with 401, storing nothing', async () => {
    const alice = await t.user(name('alice'));
    const before = { blobs: blobs(), rows: await fileRows() };
    const tooBig = await create(alice, 100 * MIB + 1, { 'content-type': 'application/offset+octet-stream' });
    expect(tooBig.status).toBe(413);
    expect(tooBig.headers.get('tus-resumable')).toBe('1.0.0');
    expect((await tooBig.json()).error.code).toBe('file_too_large');
    const anonymous = await create(null, 10);
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error.code).toBe('unauthorized');
    const deferred = await create(alice, 10, { 'upload-defer-length': '1' });
    expect(deferred.status).toBe(400);
    expect({ blobs: blobs(), rows: await fileRows() }).toEqual(before);
    // Exactly at the limit is fine.
    expect((await create(alice, 100 * MIB)).status).toBe(201);
    const limits = await alice.client.getLimits();
    expect(limits).toMatchObject({ fileSize: 100 * MIB, uploadBytesPerHour: 150 * MIB, unfinishedUploads: 3, attachmentsPerMessage: 10 });
  });

  it('spends a byte budget per hour: over it, 429 with Retry-After; a refusal costs nothing', async () => {
    const alice = await t.user(name('alice'));
    expect((await create(alice, 100 * MIB)).status).toBe(201);
    const before = { blobs: blobs(), rows: await fileRows() };
    const refused = await create(alice, 60 * MIB);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(3500);
    expect((await refused.json()).error.code).toBe('rate_limited');
    expect({ blobs: blobs(), rows: await fileRows() }).toEqual(before);
    // The refused 60 MiB were given back: 100 + 50 fits in 150.
    expect((await create(alice, 50 * MIB)).status).toBe(201);
    expect((await create(alice, 1)).status).toBe(429);
  });

  it('caps unfinished uploads per user; finishing one makes room', async () => {
    const alice = await t.user(name('alice'));
    const urls: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await create(alice, 1);
      expect(res.status).toBe(201);
      urls.push(res.headers.get('location')!);
    }
    const capped = await create(alice, 1);
    expect(capped.status).toBe(429);
    expect((await capped.json()).error.code).toBe('too_many_uploads');
    const patch = await fetch(new URL(urls[0]!, t.url), {
      method: 'PATCH',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-offset': '0',
        'content-type': 'application/offset+octet-stream',
        authorization: `Bearer ${alice.session.accessToken}`,
      },
      body: 'x',
    });
    expect(patch.status).toBe(204);
    expect(patch.headers.get('parley-file-id')).toBe(urls[0]!.split('/').pop());
    expect((await create(alice, 1)).status).toBe(201);
  });

  it('refuses a PATCH that breaks the tus rules with a JSON error, storing nothing of it; the right one then goes through', async () => {
    const alice = await t.user(name('alice'));
    const url = new URL((await create(alice, 4)).headers.get('location')!, t.url);
    const patch = (headers: Record<string, string>, body: string) =>
      fetch(url, {
        method: 'PATCH',
        headers: {
          'tus-resumable': '1.0.0',
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
          authorization: `Bearer ${alice.session.accessToken}`,
          ...headers,
        },
        body,
      });
    const refusals: [Record<string, string>, string, number, string][] = [
      [{ 'upload-offset': '2' }, 'ab', 409, 'upload_offset_conflict'],
      [{ 'upload-offset': 'x' }, 'ab', 400, 'invalid_request'],
      [{ 'tus-resumable': '0.2.2' }, 'ab', 412, 'tus_version_unsupported'],
      [{ 'content-type': 'text/plain' }, 'ab', 415, 'unsupported_media_type'],
      [{ 'upload-length': '4' }, 'ab', 400, 'invalid_request'],
      [{}, 'abcde', 413, 'file_too_large'],
    ];
    for (const [headers, body, status, code] of refusals) {
      const res = await patch(headers, body);
      expect([res.status, (await res.json()).error.code]).toEqual([status, code]);
      expect(res.headers.get('tus-resumable')).toBe('1.0.0');
    }
    const head = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', authorization: `Bearer ${alice.session.accessToken}` } });
    expect(head.headers.get('upload-offset')).toBe('0');
    const first = await patch({}, 'ab');
    expect([first.status, first.headers.get('upload-offset'), first.headers.get('parley-file-id')]).toEqual([204, '2', null]);
    const last = await patch({ 'upload-offset': '2' }, 'cd');
    expect([last.status, last.headers.get('upload-offset')]).toEqual([204, '4']);
    expect(last.headers.get('parley-sha256')).toBe(sha256(Buffer.from('abcd')));
    expect(last.headers.get('access-control-expose-headers')).toContain('parley-file-id');
  });

  it("keeps uploads and files to their owner: another user's PATCH gets 404, attaching someone else's file 410", async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const res = await create(alice, 3);
    const url = new URL(res.headers.get('location')!, t.url);
    const patch = await fetch(url, {
      method: 'PATCH',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-offset': '0',
        'content-type': 'application/offset+octet-stream',
        authorization: `Bearer ${bob.session.accessToken}`,
      },
      body: 'abc',
    });
    expect(patch.status).toBe(404);
    const fileId = url.pathname.split('/').pop()!;
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    // Unfinished: not attachable yet.
    const early = await fail(
      alice.client.sendMessage({ chatId: chat.id, clientMessageId: 'u1', attachments: [{ fileId, name: 'a', mimeType: 'text/plain' }] }),
    );
    expect([early.status, early.code]).toEqual([410, 'attachment_unavailable']);
    const mine = await uploadFile(alice.client, Buffer.from('hello'), { name: 'hello.txt', mimeType: 'text/plain' });
    const theft = await fail(
      bob.client.sendMessage({ chatId: chat.id, clientMessageId: 'b1', attachments: [{ fileId: mine.fileId, name: 'x', mimeType: 'text/plain' }] }),
    );
    expect([theft.status, theft.code]).toEqual([410, 'attachment_unavailable']);
    const blank = await fail(alice.client.sendMessage({ chatId: chat.id, clientMessageId: 'a0', text: '' }));
    expect(blank.code).toBe('invalid_request');
    const wrongSize = await fail(
      alice.client.sendMessage({ chatId: chat.id, clientMessageId: 'a1', attachments: [{ fileId: mine.fileId, name: 'h', mimeType: 'text/plain', size: 6 }] }),
    );
    expect(wrongSize.code).toBe('invalid_request');
    // A failed send took no reference.
    const row = await t.server.ctx.db.kysely.selectFrom('files').selectAll().where('id', '=', mine.fileId).executeTakeFirstOrThrow();
    expect(Number(row.ref_count)).toBe(0);
    const sent = await alice.client.sendMessage({
      chatId: chat.id,
      clientMessageId: 'a2',
      text: 'see attached',
      attachments: [{ fileId: mine.fileId, name: 'hello.txt', mimeType: 'text/plain' }],
    });
    expect(sent.attachments![0]!.size).toBe(5);
    expect(await (await bob.client.downloadFile(mine.fileId)).text()).toBe('hello');
    // A retry of the same send returns the original and takes no second reference.
    await alice.client.sendMessage({
      chatId: chat.id,
      clientMessageId: 'a2',
      text: 'see attached',
      attachments: [{ fileId: mine.fileId, name: 'hello.txt', mimeType: 'text/plain' }],
    });
    const after = await t.server.ctx.db.kysely.selectFrom('files').selectAll().where('id', '=', mine.fileId).executeTakeFirstOrThrow();
    expect(Number(after.ref_count)).toBe(1);
  });

  it('attaches over the socket too: the send frame takes attachments and the ack carries them', async () => {
    const alice = await t.user(name('alice'));
    const self = (await alice.client.listChats()).chats[0]!;
    const up = await uploadFile(alice.client, Buffer.from('via socket'), { name: 's.txt', mimeType: 'text/plain' });
    const s = await rawSocket(t, alice);
    try {
      const ack = (await s.request({
        type: 'send',
        chatId: self.id,
        clientMessageId: 'ws1',
        attachments: [{ fileId: up.fileId, name: 's.txt', mimeType: 'text/plain' }],
      })) as any;
      expect(ack).toMatchObject({ type: 'ack', message: { text: '', attachments: [{ fileId: up.fileId, size: 10 }] } });
      const tooMany = (await s.request({
        type: 'send',
        chatId: self.id,
        clientMessageId: 'ws2',
        attachments: Array.from({ length: 11 }, (_, i) => ({ fileId: `f${i}`, name: 'x', mimeType: 'text/plain' })),
      })) as any;
      expect(tooMany).toMatchObject({ type: 'error', error: { code: 'invalid_request' } });
    } finally {
      s.close();
    }
  });

  it('a device catching up through getChanges gets the attachments of the messages it missed', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const before = await bob.client.getChanges({ userSeq: 0, chats: {} });
    const up = await uploadFile(alice.client, Buffer.from('missed'), { name: 'missed.txt', mimeType: 'text/plain' });
    await alice.client.sendMessage({
      chatId: chat.id,
      clientMessageId: 'sync',
      attachments: [{ fileId: up.fileId, name: 'missed.txt', mimeType: 'text/plain' }],
    });
    const changes = await bob.client.getChanges({ userSeq: before.userSeq, chats: { [chat.id]: 0 } });
    const created = changes.events.find((e) => e.log === 'chat' && e.type === 'message.created');
    expect(created && 'message' in created ? created.message?.attachments?.map((a) => a.fileId) : undefined).toEqual([up.fileId]);
  });

  it('collects the files of saved messages once their account is deleted; files sent to others stay theirs to download', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const saved = (await alice.client.listChats()).chats.find((c) => c.kind === 'self')!;
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const note = await uploadFile(alice.client, Buffer.from('note to self'), { name: 'n', mimeType: 'text/plain' });
    const shared = await uploadFile(alice.client, Buffer.from('for bob'), { name: 's', mimeType: 'text/plain' });
    await alice.client.sendMessage({ chatId: saved.id, clientMessageId: 'n', attachments: [{ fileId: note.fileId, name: 'n', mimeType: 'text/plain' }] });
    await alice.client.sendMessage({ chatId: chat.id, clientMessageId: 's', attachments: [{ fileId: shared.fileId, name: 's', mimeType: 'text/plain' }] });
    await alice.client.deleteAccount({ password: alice.password });
    try {
      // The first run purges the saved messages and starts the file's grace; a run after it collects the file.
      offset = 2 * 86_400_000;
      await runCleanup(t.server.ctx);
      offset = 4 * 86_400_000;
      await runCleanup(t.server.ctx);
    } finally {
      offset = 0;
    }
    expect(existsSync(path.join(blobDir(), note.fileId))).toBe(false);
    expect(await (await bob.client.downloadFile(shared.fileId)).text()).toBe('for bob');
  });

  it('collects unreferenced files after the grace and abandoned uploads after expiry; referenced files stay', async () => {
    const [alice, bob] = await t.users(name('alice'), name('bob'));
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const kept = await uploadFile(alice.client, Buffer.from('kept'), { name: 'k', mimeType: 'text/plain' });
    const dropped = await uploadFile(alice.client, Buffer.from('dropped'), { name: 'd', mimeType: 'text/plain' });
    const unsent = await uploadFile(alice.client, Buffer.from('unsent'), { name: 'u', mimeType: 'text/plain' });
    const abandoned = new URL((await create(alice, 100)).headers.get('location')!, t.url).pathname.split('/').pop()!;
    await alice.client.sendMessage({ chatId: chat.id, clientMessageId: 'k', attachments: [{ fileId: kept.fileId, name: 'k', mimeType: 'text/plain' }] });
    const m = await alice.client.sendMessage({
      chatId: chat.id,
      clientMessageId: 'd',
      attachments: [{ fileId: dropped.fileId, name: 'd', mimeType: 'text/plain' }],
    });
    await alice.client.deleteMessage({ chatId: chat.id, messageId: m.id });

    // Within the grace nothing of these goes.
    await collectFiles(t.server.ctx);
    for (const id of [kept.fileId, dropped.fileId, unsent.fileId, abandoned]) expect(existsSync(path.join(blobDir(), id))).toBe(true);

    offset = 2 * 86_400_000;
    try {
      const report = await runCleanup(t.server.ctx);
      expect(report.files).toBeGreaterThanOrEqual(2);
      expect(report.uploads).toBeGreaterThanOrEqual(1);
    } finally {
      offset = 0;
    }
    expect(existsSync(path.join(blobDir(), kept.fileId))).toBe(true);
    for (const id of [dropped.fileId, unsent.fileId, abandoned]) {
      expect(existsSync(path.join(blobDir(), id))).toBe(false);
      expect(existsSync(path.join(blobDir(), `${id}.json`))).toBe(false);
    }
    expect(await (await bob.client.downloadFile(kept.fileId)).text()).toBe('kept');
    const gone = await fail(
      alice.client.sendMessage({ chatId: chat.id, clientMessageId: 'u', attachments: [{ fileId: unsent.fileId, name: 'u', mimeType: 'text/plain' }] }),
    );
    expect(gone.status).toBe(410);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/parley_files_collected_total\{[^}]*reason="unreferenced"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/parley_uploads_refused_total/);
    expect(metrics).toMatch(/parley_files_stored_bytes\{[^}]*\} [1-9]/);
  });
});
