import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, type Browser } from './_browser.ts';
import { openChat, signIn } from './_ux.ts';

const enabled = browserAvailable();

describe.skipIf(!enabled)('service lines in the timeline', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    [alice, bob, carol] = await t.users('alice', 'bob', 'carol');
    browser = await openBrowser('carol', t.url, { width: 900, height: 700 });
    await signIn(browser.page, carol);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const lines = () => browser.page.locator('.notice-line').allTextContents();

  it('shows who was added, promoted and what the chat was renamed to, live and after a reload', async () => {
    const { page } = browser;
    const group = await alice.client.createGroup({ title: 'Trip', memberIds: [bob.id, carol.id] });
    await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'm1', text: 'Where to?' });
    await openChat(page, group.id, 'Trip');
    await eventually(async () => expect(await lines()).toEqual(['Alice added you']));

    await alice.client.updateChat({ chatId: group.id, title: 'Weekend trip' });
    await alice.client.setMemberRole({ chatId: group.id, userId: bob.id, role: 'admin' });
    await eventually(async () => expect(await lines()).toEqual(['Alice added you', 'Alice renamed the chat to “Weekend trip”', 'Alice made Bob an admin']));

    await page.reload();
    await page.getByRole('heading', { name: 'Weekend trip', level: 2 }).waitFor();
    await eventually(async () => expect((await lines()).slice(-2)).toEqual(['Alice renamed the chat to “Weekend trip”', 'Alice made Bob an admin']));
    // The line sits after the message it came after.
    const order = await page.locator('.row').evaluateAll((rows) =>
      rows
        .map((r) => ({ y: new DOMMatrix(getComputedStyle(r).transform).m42, text: r.textContent ?? '' }))
        .sort((a, b) => a.y - b.y)
        .map((r) => r.text),
    );
    expect(order.findIndex((x) => x.includes('Where to?'))).toBeLessThan(order.findIndex((x) => x.includes('renamed')));

    // Removed by someone else: told so, and taken back to the chat list.
    await bob.client.removeMember({ chatId: group.id, userId: carol.id });
    await eventually(async () => expect(await page.getByRole('alert').textContent()).toContain('You were removed from “Weekend trip”'));
    await eventually(async () => expect(page.url()).toMatch(/#\/$/));
  });
});
