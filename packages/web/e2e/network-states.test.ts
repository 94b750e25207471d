import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, type Browser } from './_browser.ts';
import { openChat, send, signIn } from './_ux.ts';

const enabled = browserAvailable();

describe.skipIf(!enabled)('rate limits and connection trouble, as the user is told of them', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let chatId: string;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_MESSAGE_RATE: '3/4s' });
    [alice, bob] = await t.users('alice', 'bob');
    chatId = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    browser = await openBrowser('alice', t.url);
    await signIn(browser.page, alice);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('says "Slow down: sending in N s" while sends wait on the rate limit, then sends them all', async () => {
    const page = browser.page;
    await openChat(page, chatId, 'Bob');
    for (let i = 1; i <= 6; i++) await send(page, `burst ${i}`);
    const status = page.locator('.composer').getByRole('status').filter({ hasText: 'Slow down' });
    await eventually(async () => expect(await status.textContent()).toMatch(/^Slow down: sending in \d+ s$/));
    await eventually(async () => expect((await bob.client.listMessages({ chatId })).messages.length).toBe(6), 20_000);
    await eventually(async () => expect(await status.count()).toBe(0));
  });

  it('says the server cannot be reached when the network is up, and offline only when it is not', async () => {
    const page = browser.page;
    await openChat(page, chatId, 'Bob');
    const banner = page.locator('.banner');
    // The server's socket refuses every connection (the network itself is fine).
    let refuse = true;
    await page.routeWebSocket(/\/api\//, (ws) => (refuse ? void ws.close({ code: 1011 }) : ws.connectToServer()));
    await page.reload();
    await eventually(async () => expect(await banner.textContent()).toBe("Can't reach the server, retrying…"));
    await browser.context.setOffline(true);
    await eventually(async () => expect(await banner.textContent()).toBe('Offline. Reconnecting when the network is back'));
    await browser.context.setOffline(false);
    await eventually(async () => expect(await banner.textContent()).toBe("Can't reach the server, retrying…"));
    refuse = false;
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
  });
});
