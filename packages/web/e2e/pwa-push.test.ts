import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, screenshot, type Browser } from './_browser.ts';
import { signIn } from './_ux.ts';

const enabled = browserAvailable();

interface Manifest {
  name: string;
  short_name: string;
  start_url: string;
  display: string;
  theme_color: string;
  background_color: string;
  icons: { src: string; sizes: string; type: string; purpose: string }[];
}

describe.skipIf(!enabled)('installable app, offline shell and push notifications', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let chatId: string;
  let browser: Browser;
  let stopped = false;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    [alice, bob] = await t.users('alice', 'bob');
    chatId = (await bob.client.createPrivateChat({ userId: alice.id })).id;
    await bob.client.sendMessage({ chatId, text: 'Kept for offline', clientMessageId: 'kept-1' });
    browser = await openBrowser('alice', t.url, { width: 900, height: 700 });
    await browser.context.grantPermissions(['notifications'], { origin: t.url });
    await signIn(browser.page, alice);
  });

  afterAll(async () => {
    await browser?.close();
    if (!stopped) await t?.close();
  });

  it('serves a valid web manifest with its PNG icons, named by the page', async () => {
    const page = browser.page;
    expect(await page.locator('link[rel="manifest"]').getAttribute('href')).toBe('/manifest.webmanifest');
    const res = await fetch(`${t.url}/manifest.webmanifest`);
    expect(res.status).toBe(200);
    const manifest = (await res.json()) as Manifest;
    expect(manifest).toMatchObject({ name: 'Parley', short_name: 'Parley', start_url: '/', display: 'standalone', theme_color: '#3366cc' });
    expect(manifest.icons.map((i) => `${i.sizes} ${i.purpose}`)).toEqual(['192x192 any', '512x512 any', '512x512 maskable']);
    for (const icon of manifest.icons) {
      const png = Buffer.from(await (await fetch(new URL(icon.src, t.url))).arrayBuffer());
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      // The IHDR chunk holds the width and height.
      expect(`${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`).toBe(icon.sizes);
    }
    // The page's policy lets the worker and the manifest load; the worker script is never cached stale.
    const csp = (await fetch(`${t.url}/`, { headers: { accept: 'text/html' } })).headers.get('content-security-policy')!;
    expect(csp).toContain("worker-src 'self'");
    expect(csp).toContain("manifest-src 'self'");
    const sw = await fetch(`${t.url}/sw.js`);
    expect(sw.headers.get('cache-control')).toBe('no-cache');
    expect(sw.headers.get('content-type')).toMatch(/javascript/);
  });

  it('registers the service worker at /sw.js, controlling the page', async () => {
    const page = browser.page;
    const scriptURL = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL);
    expect(scriptURL).toBe(`${t.url}/sw.js`);
    await eventually(async () => expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true));
  });

  /**
   * Waits until the service worker is activated and has kept the page: on a busy machine its install (which
   * fetches the page and every asset it names) can still be running when the page has long been shown, and a
   * push delivered or a reload made before then finds no worker to handle it.
   */
  const workerReady = (page: Page) =>
    page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      for (let i = 0; i < 300 && (reg.active?.state !== 'activated' || !(await caches.match('/'))); i++) await new Promise((r) => setTimeout(r, 100));
    });

  it('shows a pushed message as a notification, one per chat, and a click opens the chat', async () => {
    const page = browser.page;
    const cdp = await browser.context.newCDPSession(page);
    const registrations: { registrationId: string; scopeURL: string }[] = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
    await cdp.send('ServiceWorker.enable');
    await eventually(async () => expect(registrations.some((r) => r.scopeURL === `${t.url}/`)).toBe(true));
    const registrationId = registrations.find((r) => r.scopeURL === `${t.url}/`)!.registrationId;
    const deliver = (data: object) => cdp.send('ServiceWorker.deliverPushMessage', { origin: t.url, registrationId, data: JSON.stringify(data) });
    const shown = () =>
      page.evaluate(async () =>
        (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data as unknown })),
      );

    await page.goto('/#/');
    await page.getByRole('list', { name: 'Chats' }).waitFor();
    await workerReady(page);
    await deliver({ chatId, title: 'Bob', body: 'Are you there?' });
    await eventually(async () => expect(await shown()).toEqual([{ title: 'Bob', body: 'Are you there?', tag: `chat-${chatId}`, data: { chatId } }]));
    // A newer push for the same chat replaces the notification.
    await deliver({ chatId, title: 'Bob', body: 'Hello?' });
    await eventually(async () => expect(await shown()).toEqual([{ title: 'Bob', body: 'Hello?', tag: `chat-${chatId}`, data: { chatId } }]));

    // The click, as the browser would dispatch it to the worker.
    const worker = browser.context.serviceWorkers().find((w) => w.url() === `${t.url}/sw.js`)!;
    await worker.evaluate(async () => {
      const scope = self as unknown as { registration: ServiceWorkerRegistration; dispatchEvent(e: Event): boolean };
      const [notification] = await scope.registration.getNotifications();
      const Click = (self as unknown as { NotificationEvent: new (type: string, init: { notification: Notification }) => Event }).NotificationEvent;
      scope.dispatchEvent(new Click('notificationclick', { notification: notification! }));
    });
    await page.getByRole('heading', { name: 'Bob', level: 2 }).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/chat/${chatId}`);
    await eventually(async () => expect(await shown()).toEqual([]));
    await cdp.detach();
  });

  it('starts offline from the kept shell: with the network gone, and with the server stopped', async () => {
    const page = browser.page;
    await page.goto('/#/');
    await page.getByRole('list', { name: 'Chats' }).waitFor();
    await workerReady(page);

    await browser.context.setOffline(true);
    await page.reload();
    await page.getByRole('status').filter({ hasText: 'Offline. Reconnecting when the network is back' }).waitFor();
    await screenshot(page, 'pwa-offline-network');
    expect(await page.title()).toBe('Parley');
    await browser.context.setOffline(false);

    await t.close();
    stopped = true;
    await page.reload();
    await page.getByRole('status').filter({ hasText: "Can't reach the server, retrying" }).waitFor();
    await screenshot(page, 'pwa-offline-server-stopped');
    expect(await page.title()).toBe('Parley');
  });
});
