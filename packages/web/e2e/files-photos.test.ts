import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, screenshot, type Browser } from './_browser.ts';
import { attach, download, exif, makePhoto, mediaToolsAvailable, openChat, sendCaption, sha256, signIn, waitForMessage } from './_files.ts';

const enabled = browserAvailable() && mediaToolsAvailable();

describe.skipIf(!enabled)('photos in the web client', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let a: Browser;
  let b: Browser;
  let chatId: string;
  let dir: string;
  let photo: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-photos-'));
    photo = makePhoto(dir, 'holiday.jpg');
    t = await startTestServer('sqlite');
    [alice, bob] = await t.users('alice', 'bob');
    chatId = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    [a, b] = await Promise.all([openBrowser('alice', t.url), openBrowser('bob', t.url)]);
    await Promise.all([signIn(a.page, alice), signIn(b.page, bob)]);
    await openChat(a.page, chatId, 'Bob');
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends a photo compressed: upright, at most 2560 px, with no EXIF or GPS in the bytes the other side downloads', async () => {
    // The source really carries what must go.
    const source = readFileSync(photo);
    expect(source.includes(Buffer.from('Exif\0\0'))).toBe(true);
    expect(exif(photo).GPSLatitude).toBeCloseTo(48.85837, 4);

    await attach(a.page, photo);
    await a.page.locator('.file-chip.draft', { hasText: 'holiday.jpg' }).waitFor();
    expect(await a.page.getByLabel('How to send holiday.jpg').inputValue()).toBe('compressed');
    await sendCaption(a.page, 'compressed photo');

    const m = await waitForMessage(bob.client, chatId, 'compressed photo');
    const att = m.attachments![0]!;
    expect(att.mimeType).toMatch(/^image\/(webp|jpeg)$/);
    expect(att.name).toMatch(/^holiday\.(webp|jpg)$/);
    // Orientation 6 (rotate 90 CW) applied: the 4000×3000 source comes out as 1920×2560.
    expect([att.width, att.height]).toEqual([1920, 2560]);
    expect(att.thumbhash).toMatch(/^[A-Za-z0-9+/=]{10,}$/);
    expect(att.thumbnail!.length).toBeLessThanOrEqual(4096);

    const bytes = await download(bob.client, att.fileId);
    expect(bytes.length).toBe(att.size);
    expect(Buffer.from(bytes).includes(Buffer.from('Exif\0\0'))).toBe(false);
    expect(Buffer.from(bytes).includes(Buffer.from('ParleyCam'))).toBe(false);
    const out = path.join(dir, `received.${att.mimeType === 'image/webp' ? 'webp' : 'jpg'}`);
    writeFileSync(out, bytes);
    const tags = exif(out);
    expect(Object.keys(tags).filter((k) => /^GPS|^Make$|^Model$|^Orientation$/.test(k))).toEqual([]);
    expect(tags.ImageWidth).toBe(1920);
    expect(tags.ImageHeight).toBe(2560);
    expect(bytes.length).toBeLessThan(source.length);
  });

  it("sends the original file's bytes exactly when chosen", async () => {
    await attach(a.page, photo);
    await a.page.getByLabel('How to send holiday.jpg').selectOption('original');
    await sendCaption(a.page, 'original photo');
    const m = await waitForMessage(bob.client, chatId, 'original photo');
    const att = m.attachments![0]!;
    expect(att.name).toBe('holiday.jpg');
    expect(att.mimeType).toBe('image/jpeg');
    // The dimensions as shown (orientation applied), for the timeline's box.
    expect([att.width, att.height]).toEqual([3000, 4000]);
    expect(sha256(await download(bob.client, att.fileId))).toBe(sha256(readFileSync(photo)));
  });

  it("shows the photo in the receiver's timeline at its final size before it loads: the row does not change height", async () => {
    const page = b.page;
    // Hold the image downloads until the placeholder has been measured.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await page.route('**/api/v1/files/**', async (route) => {
      await held;
      await route.continue();
    });
    await openChat(page, chatId, 'Alice');
    const msg = page.locator('article.msg').filter({ hasText: 'compressed photo' });
    const tile = msg.locator('.media-tile');
    await tile.waitFor();
    expect(await tile.locator('img.full').count()).toBe(0);
    expect(await tile.locator('img.ph').count()).toBe(1);
    const row = page.locator('.row').filter({ has: msg });
    const before = await row.boundingBox();
    const tileBox = (await tile.boundingBox())!;
    // The 1920×2560 photo in the 320 px box: 240×320.
    expect(Math.round(tileBox.width)).toBe(240);
    expect(Math.round(tileBox.height)).toBe(320);
    await screenshot(page, 'files-photo-placeholder');

    release();
    await eventually(async () => {
      const loaded = await tile.locator('img.full').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0);
      expect(loaded).toBe(true);
    });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const after = await row.boundingBox();
    expect(after!.height).toBe(before!.height);
    expect(await tile.locator('img.full').evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1920);
    await screenshot(page, 'files-photo-loaded');

    // The viewer: a click opens it, Escape closes it.
    await tile.click();
    const viewer = page.getByRole('dialog');
    await viewer.locator('img.viewer-media:not(.ph)').waitFor();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('Escape');
    await eventually(async () => expect(await page.getByRole('dialog').count()).toBe(0));
    await page.unroute('**/api/v1/files/**');
  });
});
