import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '@parley/test-kit';
import { browserAvailable, eventually, message, openBrowser, screenshot, type Browser } from './_browser.ts';
import { composer, openChat, signIn } from './_ux.ts';

const enabled = browserAvailable();

/** The first message in the group, 60 messages back: beyond the first page the chat loads. */
const FAR_BACK = 'Remember the walrus plan from the start';

function field(page: Page) {
  return page.getByRole('searchbox', { name: 'Search chats, people and messages' });
}

function results(page: Page) {
  return page.getByRole('listbox', { name: 'Search results' });
}

/** The message results, by what their names say. */
function messageHits(page: Page) {
  return results(page).getByRole('group', { name: 'Messages' }).getByRole('option');
}

async function search(page: Page, q: string): Promise<void> {
  await field(page).fill(q);
}

/** Whether the element lies inside the message list's visible area. */
async function inView(page: Page, text: string): Promise<boolean> {
  // A row scrolled far away is not in the DOM at all (the list renders only the rows near the view), and one may
  // leave it between two calls: the lookup and the measure are one step in the page.
  return page.locator('.messages').evaluate((list, wanted) => {
    const row = Array.from(list.querySelectorAll('article.msg')).find((el) => el.querySelector(':scope > .text')?.textContent?.includes(wanted));
    if (!row) return false;
    const [view, box] = [list.getBoundingClientRect(), row.getBoundingClientRect()];
    return box.top >= view.top - 1 && box.bottom <= view.bottom + 1;
  }, text);
}

describe.skipIf(!enabled)('search in the web client', () => {
  let t: TestServer;
  let alice: Browser;
  let groupId: string;
  let privateId: string;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_MESSAGE_RATE: '1000000/1s' });
    const [a, bob, carol] = await t.users('alice', 'bob', 'carol');
    groupId = (await a.client.createGroup({ title: 'Trip planning', memberIds: [bob.id, carol.id] })).id;
    privateId = (await a.client.createPrivateChat({ userId: bob.id })).id;
    // A chat alice is not in, with words of its own.
    const secret = (await bob.client.createPrivateChat({ userId: carol.id })).id;
    await bob.client.sendMessage({ chatId: secret, text: 'The pineapple surprise, and a walrus too', clientMessageId: 'secret-1' });
    await a.client.sendMessage({ chatId: groupId, text: FAR_BACK, clientMessageId: 'g-0' });
    for (let i = 1; i < 60; i++) {
      const sender = i % 2 ? bob : carol;
      await sender.client.sendMessage({ chatId: groupId, text: `Lantern note number ${i}`, clientMessageId: `g-${i}` });
    }
    await bob.client.sendMessage({ chatId: privateId, text: 'I saw a walrus at the zoo today', clientMessageId: 'p-1' });
    alice = await openBrowser('alice', t.url);
    await signIn(alice.page, a);
  });

  afterAll(async () => {
    await alice?.close();
    await t?.close();
  });

  it('finds a word in both chats, marked, and not in a chat I am not in', async () => {
    const { page } = alice;
    await search(page, 'walrus');
    await eventually(async () => expect(await messageHits(page).count()).toBe(2));
    const names = await messageHits(page).evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    // Newest first: the private chat's message, then the group's old one.
    expect(names[0]).toMatch(/^Bob in Bob, .*: I saw a walrus at the zoo today$/);
    expect(names[1]).toMatch(/^You in Trip planning, .*: Remember the walrus plan/);
    expect(await results(page).locator('mark').allTextContents()).toEqual(['walrus', 'walrus']);
    // The chat list gives way to the results while searching.
    expect(await page.getByRole('list', { name: 'Chats' }).count()).toBe(0);
    await screenshot(page, 'search-01-results');

    await search(page, 'pineapple');
    await page.getByText('No messages found').waitFor();
    expect(await messageHits(page).count()).toBe(0);
  });

  it('opens a result far back in history at that message, highlighted', async () => {
    const { page } = alice;
    await search(page, 'walrus plan');
    await eventually(async () => expect(await messageHits(page).count()).toBe(1));
    await messageHits(page).first().click();
    await page.getByRole('heading', { name: 'Trip planning', level: 2 }).waitFor();
    await message(page, FAR_BACK).and(page.locator('.highlight')).waitFor();
    await eventually(async () => expect(await inView(page, FAR_BACK)).toBe(true));
    // The window is around it: the newest messages are not loaded.
    expect(await message(page, 'Lantern note number 59').count()).toBe(0);
    expect(page.url()).toContain(`#/chat/${groupId}?at=`);
    await screenshot(page, 'search-02-far-back');

    // Scrolled away, the same result again jumps back to it.
    await page.locator('.highlight').waitFor({ state: 'detached', timeout: 5000 });
    await page.locator('.messages').evaluate((el) => el.scrollBy(0, 3000));
    await eventually(async () => expect(await inView(page, FAR_BACK)).toBe(false));
    await messageHits(page).first().click();
    await message(page, FAR_BACK).and(page.locator('.highlight')).waitFor();
    await eventually(async () => expect(await inView(page, FAR_BACK)).toBe(true));
  });

  it('pages through many results with More results, and searches only the open chat on request', async () => {
    const { page } = alice;
    await search(page, 'lantern');
    await eventually(async () => expect(await messageHits(page).count()).toBe(20));
    await page.getByRole('button', { name: 'More results' }).click();
    await eventually(async () => expect(await messageHits(page).count()).toBe(40));
    await page.getByRole('button', { name: 'More results' }).click();
    await eventually(async () => expect(await messageHits(page).count()).toBe(59));
    expect(await page.getByRole('button', { name: 'More results' }).count()).toBe(0);

    // The group is open: "In this chat" leaves out the private chat's message.
    await search(page, 'walrus');
    await eventually(async () => expect(await messageHits(page).count()).toBe(2));
    await page.getByRole('button', { name: 'In this chat' }).click();
    await eventually(async () => expect(await messageHits(page).count()).toBe(1));
    expect(await messageHits(page).first().getAttribute('aria-label')).toContain('Trip planning');
    await page.getByRole('button', { name: 'All chats' }).click();
    await eventually(async () => expect(await messageHits(page).count()).toBe(2));
  });

  it('focuses the field with Ctrl+K, moves with the arrow keys, opens with Enter, clears with Escape', async () => {
    const { page } = alice;
    await openChat(page, privateId, 'Bob');
    await search(page, '');
    await composer(page).focus();
    await page.keyboard.press('Control+k');
    await eventually(async () => expect(await field(page).evaluate((el) => el === document.activeElement)).toBe(true));
    await page.keyboard.type('walrus');
    await eventually(async () => expect(await messageHits(page).count()).toBe(2));
    // Down through the results (chats and people come first, and may still be arriving) to the second message.
    const second = messageHits(page).nth(1);
    for (let i = 0; i < 12 && (await second.getAttribute('aria-selected')) !== 'true'; i++) await page.keyboard.press('ArrowDown');
    expect(await second.getAttribute('aria-selected')).toBe('true');
    expect(await field(page).getAttribute('aria-activedescendant')).toBe(await second.getAttribute('id'));
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Trip planning', level: 2 }).waitFor();
    await message(page, FAR_BACK).and(page.locator('.highlight')).waitFor();

    await field(page).focus();
    await page.keyboard.press('Escape');
    expect(await field(page).inputValue()).toBe('');
    expect(await field(page).evaluate((el) => el === document.activeElement)).toBe(false);
    await page.getByRole('list', { name: 'Chats' }).waitFor();
    // Escape in the field left the chat open.
    await page.getByRole('heading', { name: 'Trip planning', level: 2 }).waitFor();
  });

  it('starts a private chat with a person found', async () => {
    const { page } = alice;
    await search(page, 'carol');
    const person = results(page)
      .getByRole('group', { name: 'People' })
      .getByRole('option', { name: /^Carol, @carol/ });
    await person.click();
    await page.getByRole('heading', { name: 'Carol', level: 2 }).waitFor();
    await composer(page).waitFor();
    expect(page.url()).toMatch(/#\/chat\/[^/?]+$/);
  });

  it('shows an error when the search cannot reach the server', async () => {
    const { page } = alice;
    await alice.context.setOffline(true);
    try {
      await search(page, 'zoo');
      await results(page).page().locator('.search-results [role=alert]').waitFor();
      expect(await messageHits(page).count()).toBe(0);
    } finally {
      await alice.context.setOffline(false);
    }
    await search(page, 'zoo today');
    await eventually(async () => expect(await messageHits(page).count()).toBe(1));
    expect(await page.locator('.search-results [role=alert]').count()).toBe(0);
  });

  it('works on a 360 px wide screen', async () => {
    const { page } = alice;
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto('/#/');
    await search(page, 'walrus');
    await eventually(async () => expect(await messageHits(page).count()).toBe(2));
    const hit = await messageHits(page).nth(1).boundingBox();
    expect(hit!.x + hit!.width).toBeLessThanOrEqual(360);
    await screenshot(page, 'search-03-narrow');
    await messageHits(page).nth(1).click();
    await message(page, FAR_BACK).and(page.locator('.highlight')).waitFor();
    await eventually(async () => expect(await inView(page, FAR_BACK)).toBe(true));
    // Back to the list: the results are still there.
    await page.getByRole('link', { name: 'Back to chats' }).click();
    await eventually(async () => expect(await messageHits(page).count()).toBe(2));
  });
});
