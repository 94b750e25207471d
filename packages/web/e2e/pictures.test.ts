import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import type { Page } from 'playwright-core';
import { browserAvailable, eventually, openBrowser, screenshot, type Browser } from './_browser.ts';

/** A landscape PNG drawn in the page (left half red, right half blue), as a file to pick. */
async function landscapePng(page: Page): Promise<Buffer> {
  const base64 = await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(1200, 800);
    const g = canvas.getContext('2d')!;
    g.fillStyle = '#d00';
    g.fillRect(0, 0, 600, 800);
    g.fillStyle = '#00d';
    g.fillRect(600, 0, 600, 800);
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  });
  return Buffer.from(base64, 'base64');
}

/** The size of the picture an avatar shows once loaded, or null while it shows initials. */
const shownSize = (page: Page, scope: string) =>
  page.evaluate((sel) => {
    const img = document.querySelector<HTMLImageElement>(`${sel} .avatar img`);
    return img && img.complete && img.naturalWidth > 0 ? [img.naturalWidth, img.naturalHeight] : null;
  }, scope);

describe.skipIf(!browserAvailable())('profile pictures in Chromium', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    [alice, bob] = await t.users('alice', 'bob');
    browser = await openBrowser('alice', t.url);
    const page = browser.page;
    await page.goto('/#/login');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(alice.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('list', { name: 'Chats' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('a picture chosen on the profile page is cropped to a square on the device, and others see it', async () => {
    const page = browser.page;
    await page.getByRole('link', { name: /Profile/ }).click();
    const picker = page.getByRole('group', { name: 'My picture' });
    await picker.getByLabel('Picture file').setInputFiles({ name: 'holiday.png', mimeType: 'image/png', buffer: await landscapePng(page) });
    await picker.getByText('Picture saved').waitFor();

    const fileId = (await alice.client.getMe()).avatarFileId;
    expect(fileId).toBeTruthy();
    // What was uploaded is the re-encoded square, not the 1200×800 PNG.
    const bytes = Buffer.from(await (await bob.client.downloadFile(fileId!)).arrayBuffer());
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(bytes.subarray(8, 12).toString('latin1')).toBe('WEBP');
    expect((await bob.client.getUser({ userId: alice.id })).avatarFileId).toBe(fileId);
    await eventually(async () => expect(await shownSize(page, '.picture-picker')).toEqual([512, 512]));
    // The crop is the middle: red on the left, blue on the right.
    const [left, right] = await page.evaluate(() => {
      const img = document.querySelector<HTMLImageElement>('.picture-picker .avatar img')!;
      const c = new OffscreenCanvas(512, 512);
      const g = c.getContext('2d')!;
      g.drawImage(img, 0, 0);
      return [Array.from(g.getImageData(10, 256, 1, 1).data), Array.from(g.getImageData(500, 256, 1, 1).data)];
    });
    expect(left[0]).toBeGreaterThan(150);
    expect(right[2]).toBeGreaterThan(150);
    await screenshot(page, '15-profile-picture');

    // Bob's private chat with alice shows her picture.
    await bob.client.createPrivateChat({ userId: alice.id });
    const chats = (await bob.client.listChats()).chats;
    expect(chats.find((c) => c.kind === 'private')?.peer?.avatarFileId).toBe(fileId);
  });

  it('an admin sets a group picture in the chat info; the chat list shows it and members read it', async () => {
    const group = await bob.client.createGroup({ title: 'Hikers', memberIds: [alice.id] });
    await bob.client.setMemberRole({ chatId: group.id, userId: alice.id, role: 'admin' });
    const page = browser.page;
    await page.goto(`/#/chat/${encodeURIComponent(group.id)}/info`);
    const picker = page.getByRole('group', { name: 'Chat picture' });
    await picker.getByLabel('Picture file').setInputFiles({ name: 'hills.png', mimeType: 'image/png', buffer: await landscapePng(page) });
    await picker.getByText('Picture saved').waitFor();

    const fileId = (await bob.client.getChat({ chatId: group.id })).avatarFileId;
    expect(fileId).toBeTruthy();
    expect((await bob.client.downloadFile(fileId!)).status).toBe(200);
    await page.goto('/#/');
    const row = `a.chat-row[href="#/chat/${encodeURIComponent(group.id)}"]`;
    await eventually(async () => expect(await shownSize(page, row)).toEqual([512, 512]));

    await picker.waitFor({ state: 'detached' });
    await page.goto(`/#/chat/${encodeURIComponent(group.id)}/info`);
    await page.getByRole('group', { name: 'Chat picture' }).getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('group', { name: 'Chat picture' }).getByText('Picture removed').waitFor();
    expect((await bob.client.getChat({ chatId: group.id })).avatarFileId).toBeNull();
  });
});
