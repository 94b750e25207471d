import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, message, openBrowser, type Browser } from './_browser.ts';
import { composer, openChat, send, signIn } from './_ux.ts';

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

  it('refuses an edit made offline in plain words next to the composer, and keeps it to try again', async () => {
    const page = browser.page;
    await openChat(page, chatId, 'Bob');
    await send(page, 'before the edit');
    await message(page, 'before the edit').locator('[data-status="sent"], [data-status="read"]').waitFor();
    await browser.context.setOffline(true);
    await composer(page).press('ArrowUp');
    await composer(page).fill('after the edit');
    await composer(page).press('Enter');
    const alert = page.locator('.composer').getByRole('alert');
    await eventually(async () => expect(await alert.textContent()).toBe("You're offline; the edit wasn't saved"));
    expect(await page.locator('.notice').count()).toBe(0);
    expect(await composer(page).inputValue()).toBe('after the edit');

    await browser.context.setOffline(false);
    await page.locator('.banner').waitFor({ state: 'detached' });
    await composer(page).press('Enter');
    await message(page, 'after the edit').waitFor();
    expect(await alert.count()).toBe(0);
    expect((await bob.client.listMessages({ chatId })).messages.some((m) => m.text === 'after the edit')).toBe(true);
  });
});
