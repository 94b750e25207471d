import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, screenshot, type Browser } from './_browser.ts';

const LOOPS = 20;
const enabled = browserAvailable();

/** The texts of the message rows on screen that carry this tag, in the order shown. */
function taggedTexts(page: Page, tag: string): Promise<string[]> {
  return page.locator('article.msg > .text').evaluateAll((els, t) => els.map((e) => e.textContent ?? '').filter((s) => s.includes(t)), tag);
}

/** The unread badge of a chat row, as shown (empty when there is none). */
function badge(page: Page, chatId: string): Promise<string> {
  return page
    .locator(`a.chat-row[href="#/chat/${chatId}"] .badge`)
    .allTextContents()
    .then((t) => t.join(''));
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

describe.skipIf(!enabled)('messages queued offline, then a reload', () => {
  let t: TestServer;
  let bob: TestUser;
  let carol: TestUser;
  let browser: Browser;
  let chatId: string;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_MESSAGE_RATE: '100000/1s', PARLEY_READ_RATE: '100000/1s', PARLEY_WRITE_RATE: '100000/1s' });
    [bob, carol] = await t.users('bob', 'carol');
    chatId = (await carol.client.createPrivateChat({ userId: bob.id })).id;
    browser = await openBrowser('carol', t.url);
    const page = browser.page;
    await page.goto('/#/login');
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill(carol.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('list', { name: 'Chats' }).waitFor();
    await page.goto(`/#/chat/${chatId}`);
    await page.getByRole('heading', { name: 'Bob', level: 2 }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it(`shows my own queued messages once, in order, and no unread badge (${LOOPS} times)`, async () => {
    const page = browser.page;
    // A modest network: every request and the socket's handshake take a round trip of 40 ms.
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 40, downloadThroughput: -1, uploadThroughput: -1 });
    // Two kinds of slowness a busy server or network brings, switched per loop:
    // - `slowHistory`: the history page after the reload was read before the queued sends were
    //   stored, and arrives after their events;
    // - `stalledSocket`: the socket that the page opens when the network comes back gets no answer
    //   before the reload, so the reloaded page is the one that sends the queue.
    let slowHistory = false;
    let stalledSocket = false;
    await page.route(
      (url) => url.pathname === `/api/v1/chats/${chatId}/messages`,
      async (route) => {
        const response = await route.fetch();
        if (slowHistory) await new Promise((r) => setTimeout(r, 300));
        await route.fulfill({ response });
      },
    );
    await page.routeWebSocket(
      (url) => url.pathname.startsWith('/api/'),
      (ws) => {
        // Not connected: the page's socket stays silent, as before the server's hello.
        if (!stalledSocket) ws.connectToServer();
      },
    );

    const failures: string[] = [];
    for (let i = 0; i < LOOPS; i++) {
      const tag = `r${i}-${Math.random().toString(36).slice(2, 7)}`;
      await browser.context.setOffline(true);
      await page.getByText('Offline. Reconnecting when the network is back').waitFor();
      await send(page, `${tag} own 1`);
      await send(page, `${tag} own 2`);
      await eventually(async () => expect(await page.locator('article.msg[data-pending]').count()).toBe(2));
      await bob.client.sendMessage({ chatId, text: `${tag} bob`, clientMessageId: `${tag}-bob` });

      // Back online, then a reload soon after, or a little later (when the page before the reload
      // may have sent the queue already).
      stalledSocket = i % 4 < 2;
      slowHistory = i % 4 === 0;
      await browser.context.setOffline(false);
      await page.waitForTimeout(i % 4 === 3 ? 150 : 20);
      stalledSocket = false;
      await page.reload();
      await page.getByRole('heading', { name: 'Bob', level: 2 }).waitFor();

      const want = [`${tag} bob`, `${tag} own 1`, `${tag} own 2`];
      try {
        await eventually(async () => {
          expect(await taggedTexts(page, tag)).toEqual(want);
          expect(await page.locator('article.msg[data-pending]').count()).toBe(0);
          expect(await badge(page, chatId)).toBe('');
        }, 5000);
      } catch {
        const server = (await carol.client.listChats()).chats.find((c) => c.id === chatId);
        failures.push(
          `loop ${i}: timeline ${JSON.stringify(await taggedTexts(page, tag))}, badge "${await badge(page, chatId)}", server unread ${server?.unreadCount} read ${server?.readSeq} last ${server?.lastSeq}`,
        );
        await screenshot(page, `offline-reload-failure-${i}`);
        // The next loop starts from a page that shows everything.
        slowHistory = false;
        await page.reload();
        await page.getByRole('heading', { name: 'Bob', level: 2 }).waitFor();
      }
    }
    expect(failures).toEqual([]);
  });
});
