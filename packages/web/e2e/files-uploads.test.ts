import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CDPSession, Page } from 'playwright-core';
import { uploadFile } from '@parley/sdk';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, screenshot, type Browser } from './_browser.ts';
import { attach, download, openChat, sendCaption, sha256, signIn, waitForMessage } from './_files.ts';

const enabled = browserAvailable();
const MIB = 1024 * 1024;

interface TusRequest {
  method: string;
  /** Upload-Offset sent (PATCH) or answered (HEAD) */
  offset?: number;
}

/** Every tus request the page makes, with the offset it sent or (HEAD) was told. */
function recordTus(page: Page): TusRequest[] {
  const seen: TusRequest[] = [];
  page.on('request', (r) => {
    if (!r.url().includes('/api/v1/uploads') || r.method() !== 'PATCH') return;
    seen.push({ method: 'PATCH', offset: Number(r.headers()['upload-offset']) });
  });
  page.on('response', (r) => {
    if (!r.url().includes('/api/v1/uploads') || r.request().method() !== 'HEAD') return;
    seen.push({ method: 'HEAD', offset: Number(r.headers()['upload-offset']) });
  });
  return seen;
}

/** Slows the page's uploads to this many bytes per second, so that one can be interrupted midway. */
async function throttle(cdp: CDPSession, uploadBytesPerSecond: number): Promise<void> {
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: uploadBytesPerSecond });
}

/** The percentage an upload chip shows. */
async function uploaded(page: Page, name: string): Promise<number> {
  return Number(await page.locator(`.file-chip.upload[data-upload="${name}"] progress`).getAttribute('value'));
}

describe.skipIf(!enabled)('uploads in the web client', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let a: Browser;
  let chatId: string;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-uploads-'));
    t = await startTestServer('sqlite');
    [alice, bob] = await t.users('alice', 'bob');
    chatId = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    a = await openBrowser('alice', t.url);
    await signIn(a.page, alice);
    await openChat(a.page, chatId, 'Bob');
  });

  afterAll(async () => {
    await a?.close();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("pauses an upload and resumes it from the server's offset", async () => {
    const page = a.page;
    const file = path.join(dir, 'paused.bin');
    writeFileSync(file, randomBytes(12 * MIB));
    const tus = recordTus(page);
    const cdp = await a.context.newCDPSession(page);
    await throttle(cdp, 2 * MIB);

    await attach(page, file);
    await sendCaption(page, 'paused file');
    await eventually(async () => expect(await uploaded(page, 'paused.bin')).toBeGreaterThanOrEqual(10), 30_000);
    await screenshot(page, 'files-uploading');
    await page.getByRole('button', { name: 'Pause paused.bin' }).click();
    await page.locator('.file-chip.upload[data-upload="paused.bin"][data-state="paused"]').waitFor();
    const patchesBefore = tus.length;
    expect(tus.every((r) => r.method === 'PATCH' && r.offset === 0)).toBe(true);

    await throttle(cdp, -1);
    await page.getByRole('button', { name: 'Resume paused.bin' }).click();
    const m = await waitForMessage(bob.client, chatId, 'paused file');
    const after = tus.slice(patchesBefore);
    // The server is asked where it got to, and the next PATCH starts there, not at 0.
    expect(after[0]).toMatchObject({ method: 'HEAD' });
    expect(after[0]!.offset).toBeGreaterThan(0);
    expect(after[1]).toEqual({ method: 'PATCH', offset: after[0]!.offset });
    expect(sha256(await download(bob.client, m.attachments![0]!.fileId))).toBe(sha256(readFileSync(file)));
    await cdp.detach();
  });

  it('goes on with an upload after a page reload, from the offset the server has, and sends its message once', async () => {
    const page = a.page;
    const file = path.join(dir, 'reloaded.bin');
    writeFileSync(file, randomBytes(12 * MIB));
    const tus = recordTus(page);
    let cdp = await a.context.newCDPSession(page);
    await throttle(cdp, 2 * MIB);

    await attach(page, file);
    await sendCaption(page, 'reloaded file');
    await eventually(async () => expect(await uploaded(page, 'reloaded.bin')).toBeGreaterThanOrEqual(10), 30_000);
    // The upload is remembered for this user only.
    const keys = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tus::')));
    expect(keys.some((k) => k.includes(`parley-${alice.id}-`))).toBe(true);
    const before = tus.length;
    await page.reload();
    cdp = await a.context.newCDPSession(page);
    await throttle(cdp, -1);
    await page.getByRole('heading', { name: 'Bob', level: 2 }).waitFor();

    // Nothing is picked again: the waiting message comes back from IndexedDB and its file resumes.
    const m = await waitForMessage(bob.client, chatId, 'reloaded file');
    const after = tus.slice(before);
    expect(after[0]).toMatchObject({ method: 'HEAD' });
    expect(after[0]!.offset).toBeGreaterThan(0);
    expect(after[1]).toEqual({ method: 'PATCH', offset: after[0]!.offset });
    expect(sha256(await download(bob.client, m.attachments![0]!.fileId))).toBe(sha256(readFileSync(file)));
    // Sent once; and once finished, neither tus nor the page keeps anything of it.
    const { messages } = await bob.client.listMessages({ chatId, limit: 50 });
    expect(messages.filter((x) => x.text === 'reloaded file')).toHaveLength(1);
    await eventually(async () => expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('tus::')))).toEqual([]));
    await eventually(async () => expect(await page.locator('.file-chip.upload').count()).toBe(0));
    await cdp.detach();
  });

  it('takes files dropped on the chat and pasted into the message box, at most 10 per message, and sends them in one message', async () => {
    const page = a.page;
    // Eleven files dropped: ten are taken, and the page says why not the eleventh.
    await page.evaluate(() => {
      const dt = new DataTransfer();
      for (let i = 1; i <= 11; i++) dt.items.add(new File([new Uint8Array(1000 + i).fill(i)], `dropped-${i}.bin`, { type: 'application/octet-stream' }));
      const target = document.querySelector('.messages')!;
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await eventually(async () => expect(await page.locator('.file-chip.draft').count()).toBe(10));
    expect(await page.getByText('A message can carry at most 10 files').count()).toBe(1);
    for (let i = 2; i <= 10; i++) await page.getByRole('button', { name: `Remove dropped-${i}.bin` }).click();
    expect(await page.locator('.file-chip.draft').count()).toBe(1);

    // A screenshot pasted from the clipboard.
    await page.evaluate(async () => {
      const canvas = new OffscreenCanvas(300, 200);
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = '#3366cc';
      ctx.fillRect(0, 0, 300, 200);
      const png = await canvas.convertToBlob({ type: 'image/png' });
      const dt = new DataTransfer();
      dt.items.add(new File([png], 'pasted.png', { type: 'image/png' }));
      document.querySelector('textarea')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    });
    await page.locator('.file-chip.draft[data-draft="pasted.png"]').waitFor();
    await sendCaption(page, 'dropped and pasted');
    const m = await waitForMessage(bob.client, chatId, 'dropped and pasted');
    expect(m.attachments!.map((x) => [x.name, x.size])).toEqual([
      ['dropped-1.bin', 1001],
      [expect.stringMatching(/^pasted\.(webp|jpg)$/), expect.any(Number)],
    ]);
    expect([m.attachments![1]!.width, m.attachments![1]!.height]).toEqual([300, 200]);
    expect(Buffer.from(await download(bob.client, m.attachments![0]!.fileId))).toEqual(Buffer.alloc(1001, 1));
  });

  it('says "No longer available" for files the server no longer has (404)', async () => {
    // Two files sent through the SDK, then their blobs removed from the store, as the cleanup does.
    // The chat is closed meanwhile, so that the page does not download (and cache) them first.
    const page = a.page;
    await page.goto('/#/');
    await page.getByRole('list', { name: 'Chats' }).waitFor();
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    const photo = await uploadFile(alice.client, png, { name: 'gone.png', mimeType: 'image/png' });
    const doc = await uploadFile(alice.client, Buffer.from('gone'), { name: 'gone.txt', mimeType: 'text/plain' });
    await alice.client.sendMessage({
      chatId,
      clientMessageId: 'gone-files',
      text: 'gone files',
      attachments: [
        { fileId: photo.fileId, name: 'gone.png', mimeType: 'image/png', width: 400, height: 300 },
        { fileId: doc.fileId, name: 'gone.txt', mimeType: 'text/plain' },
      ],
    });
    for (const id of [photo.fileId, doc.fileId]) {
      const blob = await t.server.ctx.blobs.locate(id);
      if (blob.kind !== 'local') throw new Error('the test server keeps its blobs in a local directory');
      unlinkSync(path.join(blob.root, blob.file));
    }
    await expect(bob.client.downloadFile(doc.fileId)).rejects.toMatchObject({ status: 404 });

    await openChat(page, chatId, 'Bob');
    const msg = page.locator('article.msg').filter({ hasText: 'gone files' });
    await msg.locator('.media-tile .gone', { hasText: 'No longer available' }).waitFor();
    await msg.getByRole('button', { name: 'Download gone.txt' }).click();
    await msg.getByRole('status').filter({ hasText: 'No longer available' }).waitFor();
  });

  it('a file that is not an image downloads with its name and bytes intact', async () => {
    const name = 'report Q4 (final).txt';
    const file = path.join(dir, name);
    writeFileSync(file, randomBytes(300 * 1024));
    await attach(a.page, file);
    await sendCaption(a.page, 'the report');
    await waitForMessage(bob.client, chatId, 'the report');

    const b = await openBrowser('bob', t.url);
    try {
      await signIn(b.page, bob);
      await openChat(b.page, chatId, 'Alice');
      const msg = b.page.locator('article.msg').filter({ hasText: 'the report' });
      await msg.locator('.file').waitFor();
      expect(await msg.locator('.file-name').textContent()).toBe(name);
      expect(await msg.locator('.file-size').textContent()).toBe('300 KB');
      const [dl] = await Promise.all([b.page.waitForEvent('download'), msg.getByRole('button', { name: `Download ${name}` }).click()]);
      expect(dl.suggestedFilename()).toBe(name);
      expect(sha256(readFileSync((await dl.path())!))).toBe(sha256(readFileSync(file)));
      await screenshot(b.page, 'files-file-row');
    } finally {
      await b.close();
    }
  });
});

describe.skipIf(!enabled)('upload limits in the web client', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let a: Browser;
  let chatId: string;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-limits-'));
    t = await startTestServer('sqlite', { PARLEY_MAX_FILE_SIZE: String(MIB), PARLEY_UPLOAD_BYTES_PER_HOUR: String(1.5 * MIB) });
    [alice, bob] = await t.users('alice', 'bob');
    chatId = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    a = await openBrowser('alice', t.url);
    await signIn(a.page, alice);
    await openChat(a.page, chatId, 'Bob');
  });

  afterAll(async () => {
    await a?.close();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('says a file is too large with the limit in MiB (413), and how long to wait when the hourly budget is spent (429)', async () => {
    const page = a.page;
    const big = path.join(dir, 'big.bin');
    writeFileSync(big, randomBytes(MIB + 1));
    await attach(page, big);
    await sendCaption(page, 'too big');
    const chip = page.locator('.file-chip.upload[data-upload="big.bin"]');
    await eventually(async () => expect(await chip.getByRole('alert').textContent()).toBe('"big.bin" is too large: files can be at most 1 MiB'));
    await page.getByRole('button', { name: 'Cancel big.bin' }).click();
    await eventually(async () => expect(await chip.count()).toBe(0));

    const first = path.join(dir, 'first.bin');
    const second = path.join(dir, 'second.bin');
    writeFileSync(first, randomBytes(MIB));
    writeFileSync(second, randomBytes(MIB));
    await attach(page, first);
    await sendCaption(page, 'within budget');
    await waitForMessage(bob.client, chatId, 'within budget');
    await attach(page, second);
    await sendCaption(page, 'over budget');
    const refused = page.locator('.file-chip.upload[data-upload="second.bin"]');
    await eventually(async () => expect(await refused.getByRole('alert').textContent()).toMatch(/^Upload limit reached: try again in (59|60) min$/));
    await screenshot(page, 'files-limit-429');
    // A failed upload can be tried again (here it is refused again: the budget is still spent).
    await refused.getByRole('button', { name: 'Retry second.bin' }).click();
    await eventually(async () => expect(await refused.getAttribute('data-state')).toBe('failed'));
  });
});
