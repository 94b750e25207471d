import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, type Browser } from './_browser.ts';
import { composer, openChat, signIn } from './_ux.ts';
import { SHORTCUTS } from '../src/ui/help-sheet.tsx';

const enabled = browserAvailable();

describe.skipIf(!enabled)('keyboard shortcuts', () => {
  let t: TestServer;
  let ann: TestUser;
  let browser: Browser;
  let bobChat: string;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    const [a, bob, cat] = await t.users('ann', 'bob', 'cat');
    ann = a;
    bobChat = (await ann.client.createPrivateChat({ userId: bob.id })).id;
    const catChat = (await ann.client.createPrivateChat({ userId: cat.id })).id;
    // Newest activity first: Cat, then Bob.
    await ann.client.sendMessage({ chatId: bobChat, clientMessageId: 'k1', text: 'to bob' });
    await ann.client.sendMessage({ chatId: catChat, clientMessageId: 'k2', text: 'to cat' });
    browser = await openBrowser('ann', t.url);
    await signIn(browser.page, ann);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const openRow = () => browser.page.locator('.chat-list a.chat-row[aria-current="page"] .chat-title').textContent();
  const heading = () => browser.page.getByRole('heading', { level: 2 }).first().textContent();

  it('Alt+Down and Alt+Up open the chat below and above in the list, with the focus in its message box', async () => {
    const page = browser.page;
    const rows = await page.locator('.chat-list a.chat-row .chat-title').allTextContents();
    expect(rows.slice(0, 2)).toEqual(['Cat', 'Bob']);
    await openChat(page, bobChat, 'Bob');
    await page.keyboard.press('Alt+ArrowUp');
    await eventually(async () => expect(await openRow()).toBe('Cat'));
    await eventually(async () => expect(await heading()).toBe('Cat'));
    await eventually(async () => expect(await composer(page).evaluate((el) => el === document.activeElement)).toBe(true));
    await page.keyboard.press('Alt+ArrowDown');
    await eventually(async () => expect(await openRow()).toBe('Bob'));
    await page.keyboard.press('Alt+ArrowDown');
    await eventually(async () => expect(await openRow()).toBe(rows[2]));
    // At the end of the list it stays.
    for (let i = rows.length; i > 0; i--) await page.keyboard.press('Alt+ArrowDown');
    await eventually(async () => expect(await openRow()).toBe(rows[rows.length - 1]));
  });

  it('"?" opens the list of shortcuts outside a text field, Escape closes it, and the toolbar has a button for it', async () => {
    const page = browser.page;
    const sheet = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await openChat(page, bobChat, 'Bob');
    // In the message box "?" is only a character.
    await composer(page).press('?');
    expect(await composer(page).inputValue()).toBe('?');
    expect(await sheet.count()).toBe(0);
    await composer(page).fill('');
    await page.locator('.messages').focus();
    await page.keyboard.press('?');
    await sheet.waitFor();
    const text = (await sheet.textContent()) ?? '';
    for (const s of SHORTCUTS) expect(text).toContain(s.what);
    expect(await sheet.locator('kbd').count()).toBeGreaterThanOrEqual(SHORTCUTS.length);
    await page.keyboard.press('Escape');
    await sheet.waitFor({ state: 'detached' });
    // Escape closed the sheet only: the chat is still open.
    expect(await heading()).toBe('Bob');
    await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
    await sheet.waitFor();
    await sheet.getByRole('button', { name: 'Close' }).click();
    await sheet.waitFor({ state: 'detached' });
  });
});
