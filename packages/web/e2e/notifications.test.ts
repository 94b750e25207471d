import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, type Browser } from './_browser.ts';
import { openChat, signIn } from './_ux.ts';

const enabled = browserAvailable();

/** Records the notifications the page shows, through the browser's own Notification (which still runs). */
const RECORD_NOTIFICATIONS = `
  window.__shown = [];
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.__shown.push({ title, body: options && options.body, tag: options && options.tag, n: this });
    }
  };
`;

type Shown = { title: string; body: string; tag: string };

describe.skipIf(!enabled)('desktop notifications', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let withBob: string;
  let group: string;
  let browser: Browser;
  const shown = (): Promise<Shown[]> =>
    browser.page.evaluate(() => (window as unknown as { __shown: Shown[] }).__shown.map(({ title, body, tag }) => ({ title, body, tag })));

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    [alice, bob, carol] = await t.users('alice', 'bob', 'carol');
    withBob = (await bob.client.createPrivateChat({ userId: alice.id })).id;
    group = (await carol.client.createGroup({ title: 'Book club', memberIds: [alice.id] })).id;
    browser = await openBrowser('alice', t.url, { width: 900, height: 700 });
    await browser.page.addInitScript(RECORD_NOTIFICATIONS);
    await signIn(browser.page, alice);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('offers notifications in the chat list and asks the browser only when the reader says yes', async () => {
    const { page } = browser;
    const offer = page.getByRole('region', { name: 'Notifications' });
    await offer.waitFor();
    // Nothing was asked on load.
    expect(await page.evaluate(() => Notification.permission)).toBe('default');
    await browser.context.grantPermissions(['notifications']);
    await offer.getByRole('button', { name: 'Turn on notifications' }).click();
    await offer.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => Notification.permission)).toBe('granted');
  });

  it("notifies of others' messages in chats not in front of the reader, not of muted chats, and a click opens the chat", async () => {
    const { page } = browser;
    await openChat(page, withBob, 'Bob');
    await page.bringToFront();
    expect(await page.evaluate(() => document.hasFocus())).toBe(true);
    await bob.client.sendMessage({ chatId: withBob, clientMessageId: 'b1', text: 'You are reading this already' });
    await carol.client.sendMessage({ chatId: group, clientMessageId: 'c1', text: 'Chapter 3 tonight?' });
    await eventually(async () => expect(await shown()).toEqual([{ title: 'Carol in Book club', body: 'Chapter 3 tonight?', tag: `chat-${group}` }]));

    // The tab's icon carries the unread count.
    const icon = page.locator('link[rel="icon"]');
    await eventually(async () => expect(await icon.getAttribute('data-unread')).toBe('1'));
    expect(await icon.getAttribute('href')).toMatch(/^data:image\/png;base64,/);

    // A click on the notification brings the chat forward.
    await page.evaluate(() => (window as unknown as { __shown: { n: Notification }[] }).__shown[0]!.n.onclick?.(new Event('click')));
    await page.getByRole('heading', { name: 'Book club', level: 2 }).waitFor();
    await eventually(async () => expect(await icon.getAttribute('href')).toBe('/favicon.svg'));

    // Muted: no notification.
    await openChat(page, withBob, 'Bob');
    await alice.client.updateChat({ chatId: group, muted: true });
    await eventually(async () => expect(await page.evaluate(() => document.title)).toBe('Parley'));
    await carol.client.sendMessage({ chatId: group, clientMessageId: 'c2', text: 'Anyone?' });
    await bob.client.sendMessage({ chatId: withBob, clientMessageId: 'b2', text: 'still here' });
    await page.locator('article.msg', { hasText: 'still here' }).waitFor();
    expect(await shown()).toHaveLength(1);
  });
});
