import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, message, openBrowser, type Browser } from './_browser.ts';
import { chatRow, composer, openChat, signIn } from './_ux.ts';

const enabled = browserAvailable();

/** What has the focus: "msg:<its text>", "composer", or the element's accessible text. */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return 'none';
    if (el.matches('article.msg')) return `msg:${el.querySelector(':scope > .text')?.textContent ?? ''}`;
    if (el.matches('.composer textarea')) return 'composer';
    return el.getAttribute('aria-label') ?? el.textContent ?? el.tagName;
  });
}

/** Presses a key until `done` says so; how many presses it took, or Infinity. */
async function pressUntil(page: Page, key: string, done: (f: string) => boolean, max = 15): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press(key);
    if (done(await focused(page))) return i;
  }
  return Infinity;
}

describe.skipIf(!enabled)('keyboard and screen reader use', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let chatId: string;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_MESSAGE_RATE: '100000/1s' });
    [alice, bob] = await t.users('alice', 'bob');
    chatId = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    for (let i = 1; i <= 30; i++) {
      const who = i % 2 ? bob : alice;
      await who.client.sendMessage({ chatId, text: `line ${i}`, clientMessageId: `k${i}` });
    }
    browser = await openBrowser('alice', t.url);
    await signIn(browser.page, alice);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('opens a chat with Enter on its row and puts the focus in the composer, so typing sends', async () => {
    const page = browser.page;
    await page.goto('/#/');
    await chatRow(page, 'Bob').focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Bob', level: 2 }).waitFor();
    await eventually(async () => expect(await focused(page)).toBe('composer'));
    await page.keyboard.type('typed right away');
    await page.keyboard.press('Enter');
    await message(page, 'typed right away').waitFor();
  });

  it('makes the timeline one tab stop, with arrow keys between messages and a visible focus ring', async () => {
    const page = browser.page;
    await openChat(page, chatId, 'Bob');
    await message(page, 'typed right away').waitFor();
    await composer(page).focus();
    // Back from the composer into the timeline: a few controls, not every message's buttons.
    const back = await pressUntil(page, 'Shift+Tab', (f) => f.startsWith('msg:'));
    expect(back).toBeLessThanOrEqual(6);
    expect(await page.locator('[role="log"] article.msg[tabindex="0"]').count()).toBe(1);
    expect(await focused(page)).toBe('msg:typed right away');

    // A focused message shows a focus ring.
    const ring = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement!);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    });
    expect(ring.style).not.toBe('none');
    expect(ring.width).toBeGreaterThan(0);

    await page.keyboard.press('ArrowUp');
    await eventually(async () => expect(await focused(page)).toBe('msg:line 30'));
    await page.keyboard.press('ArrowUp');
    await eventually(async () => expect(await focused(page)).toBe('msg:line 29'));
    await page.keyboard.press('ArrowDown');
    await eventually(async () => expect(await focused(page)).toBe('msg:line 30'));
    await page.keyboard.press('End');
    await eventually(async () => expect(await focused(page)).toBe('msg:typed right away'));
    expect(await page.locator('[role="log"] article.msg[tabindex="0"]').count()).toBe(1);

    // And forward again: out of the timeline to the composer in a few presses.
    const forward = await pressUntil(page, 'Tab', (f) => f === 'composer');
    expect(forward).toBeLessThanOrEqual(6);
  });

  it('sends a key typed on a focused message to the composer', async () => {
    const page = browser.page;
    await openChat(page, chatId, 'Bob');
    await message(page, 'line 29').focus();
    await page.keyboard.type('hi');
    expect(await focused(page)).toBe('composer');
    expect(await composer(page).inputValue()).toBe('hi');
    await composer(page).fill('');
  });

  it('has a skip link to the composer as the first tab stop', async () => {
    const page = browser.page;
    await openChat(page, chatId, 'Bob');
    // Before the sidebar's first link: the first stop of the page.
    await page.getByRole('link', { name: 'New chat' }).focus();
    await page.keyboard.press('Shift+Tab');
    expect(await focused(page)).toBe('Skip to the message box');
    await page.keyboard.press('Enter');
    expect(await focused(page)).toBe('composer');
  });

  it('closes chat info and the settings pages with Escape', async () => {
    const page = browser.page;
    await openChat(page, chatId, 'Bob');
    await page.getByRole('link', { name: 'Chat info and members' }).click();
    await page.getByRole('list', { name: 'Members' }).waitFor();
    await page.keyboard.press('Escape');
    await composer(page).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/chat/${chatId}`);

    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByRole('heading', { name: 'Devices', exact: true }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByText('Choose a chat').waitFor();
  });

  it('edits my last message with ArrowUp in the empty composer', async () => {
    const page = browser.page;
    await openChat(page, chatId, 'Bob');
    await composer(page).focus();
    await page.keyboard.press('ArrowUp');
    expect(await composer(page).inputValue()).toBe('typed right away');
    await page.getByText('Editing').waitFor();
    await composer(page).fill('typed, then fixed');
    await page.keyboard.press('Enter');
    await message(page, 'typed, then fixed').waitFor();
    expect(await message(page, 'typed, then fixed').locator('.edited').count()).toBe(1);
  });

  it('tells screen readers in words whether my message was sent or read', async () => {
    const page = browser.page;
    await openChat(page, chatId, 'Bob');
    const status = message(page, 'line 30').locator('[data-status]');
    const spoken = await status.ariaSnapshot();
    expect(spoken).toContain('Sent');
    expect(spoken).not.toContain('✓');
    const { messages } = await bob.client.listMessages({ chatId, limit: 1 });
    await bob.client.markRead({ chatId, seq: messages[0]!.seq });
    await eventually(async () => expect(await status.ariaSnapshot()).toContain('Read'));
  });

  it('opens a context menu on a message by right-click or the keyboard, with Reply, Copy, Edit and Delete', async () => {
    const page = browser.page;
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await openChat(page, chatId, 'Bob');
    const mine = message(page, 'line 30');
    await mine.click({ button: 'right' });
    const menu = page.getByRole('menu', { name: 'Message actions' });
    await menu.waitFor();
    expect(await menu.getByRole('menuitem').allTextContents()).toEqual([
      'Reply',
      'Copy text',
      'Edit',
      'Forward',
      'Pin',
      'React 👍',
      'React ❤️',
      'React 😂',
      'React 😮',
      'React 😢',
      'Delete for everyone',
    ]);
    await eventually(async () => expect(await focused(page)).toBe('Reply'));
    await page.keyboard.press('ArrowDown');
    await eventually(async () => expect(await focused(page)).toBe('Copy text'));
    await page.keyboard.press('Enter');
    await menu.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('line 30');

    // Someone else's message: no Edit or Delete. The context-menu key opens it on the focused message.
    await message(page, 'line 29').focus();
    await page.keyboard.press('Shift+F10');
    await menu.waitFor();
    expect(await menu.getByRole('menuitem').allTextContents()).toEqual([
      'Reply',
      'Copy text',
      'Forward',
      'Pin',
      'React 👍',
      'React ❤️',
      'React 😂',
      'React 😮',
      'React 😢',
    ]);
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    expect(await focused(page)).toBe('msg:line 29');
    expect(new URL(page.url()).hash).toBe(`#/chat/${chatId}`);

    await message(page, 'line 29').click({ button: 'right' });
    await menu.getByRole('menuitem', { name: 'Reply' }).click();
    await page.getByText('Replying to Bob').waitFor();
    expect(await focused(page)).toBe('composer');
    await page.keyboard.press('Escape');
  });
});
