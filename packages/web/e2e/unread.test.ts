import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, message, openBrowser, type Browser } from './_browser.ts';
import { chatRow, openChat, signIn } from './_ux.ts';

const enabled = browserAvailable();

describe.skipIf(!enabled)('unread counts', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let withBob: string;
  let withCarol: string;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_MESSAGE_RATE: '100000/1s', PARLEY_WRITE_RATE: '100000/1s' });
    [alice, bob, carol] = await t.users('alice', 'bob', 'carol');
    withBob = (await bob.client.createPrivateChat({ userId: alice.id })).id;
    withCarol = (await carol.client.createPrivateChat({ userId: alice.id })).id;
    const long = 'a rather long message that fills the whole preview line of the chat list and more';
    for (let i = 0; i < 120; i++) await bob.client.sendMessage({ chatId: withBob, text: `${long} ${i}`, clientMessageId: `b${i}` });
    for (let i = 0; i < 3; i++) await carol.client.sendMessage({ chatId: withCarol, text: `${long} ${i}`, clientMessageId: `c${i}` });
    browser = await openBrowser('alice', t.url, { width: 900, height: 700 });
    await signIn(browser.page, alice);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows "99+" for more than 99 unread, never a clipped number', async () => {
    const page = browser.page;
    const many = chatRow(page, 'Bob').locator('.badge');
    expect(await many.textContent()).toBe('99+');
    // The whole badge is shown: nothing of it is cut off by a long preview.
    expect(await many.evaluate((el) => el.scrollWidth <= el.clientWidth && el.getBoundingClientRect().width >= el.scrollWidth)).toBe(true);
    expect(await chatRow(page, 'Bob').textContent()).toContain(', 120 unread');
    expect(await chatRow(page, 'Carol').locator('.badge').textContent()).toBe('3');
  });

  it('puts the number of unread messages in the tab title', async () => {
    const page = browser.page;
    await eventually(async () => expect(await page.title()).toBe('(123) Parley'));
    await openChat(page, withCarol, 'Carol');
    await eventually(async () => expect(await page.title()).toBe('(120) Parley'));
    await alice.client.updateChat({ chatId: withBob, muted: true });
    await eventually(async () => expect(await page.title()).toBe('Parley'));
  });

  it('opens at the first unread message under an "Unread messages" line, and marks read only what was seen', async () => {
    const page = browser.page;
    const unread = async () => (await alice.client.listChats()).chats.find((c) => c.id === withBob)?.unreadCount ?? -1;
    await alice.client.updateChat({ chatId: withBob, muted: false });
    await openChat(page, withBob, 'Bob');
    const line = page.locator('.unread-line');
    await line.waitFor();
    const list = page.locator('.messages');
    // The line is at the top of the list, the first unread message right under it, the newest far below.
    await eventually(async () => {
      const [l, top] = [await line.boundingBox(), await list.boundingBox()];
      expect(l && top && l.y - top.y).toBeLessThan(40);
      expect(await message(page, `more 0`).isVisible()).toBe(true);
    });
    expect(await message(page, `more 119`).count()).toBe(0);
    // What is on screen is read, the rest is not: the count falls, but not to nothing.
    await eventually(async () => expect(await unread()).toBeLessThan(120));
    const left = await unread();
    expect(left).toBeGreaterThan(100);
    const jump = page.getByRole('button', { name: /^Jump to the newest message/ });
    await eventually(async () => expect(await jump.getAttribute('aria-label')).toBe(`Jump to the newest message, ${await unread()} unread`));
    expect(await jump.locator('.badge').textContent()).toBe('99+');
    // Going to the bottom reads everything.
    await jump.click();
    await eventually(async () => expect(await unread()).toBe(0));
    await eventually(async () => expect(await page.title()).toBe('Parley'));
    expect(await page.locator('.unread-line').count()).toBe(0);
  });
});
