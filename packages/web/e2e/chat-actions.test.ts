import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, type Browser } from './_browser.ts';
import { openChat, signIn } from './_ux.ts';

const enabled = browserAvailable();

async function chatIds(user: TestUser): Promise<string[]> {
  return (await user.client.listChats()).chats.map((c) => c.id);
}

async function openInfo(page: Page, chatId: string, title: string): Promise<void> {
  await openChat(page, chatId, title);
  await page.getByRole('link', { name: 'Chat info and members' }).click();
  await page.getByRole('heading', { name: title, level: 2 }).waitFor();
}

describe.skipIf(!enabled)('chat actions', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    [alice, bob, carol] = await t.users('alice', 'bob', 'carol');
    browser = await openBrowser('alice', t.url);
    await signIn(browser.page, alice);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('asks before deleting a chat in a modal dialog: Cancel and Escape keep it, the focus stays inside', async () => {
    const page = browser.page;
    const chatId = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    await openInfo(page, chatId, 'Bob');
    await page.getByRole('button', { name: 'Delete chat' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete Bob?' });
    await dialog.waitFor();
    expect(await dialog.evaluate((d) => d.tagName === 'DIALOG' && (d as HTMLDialogElement).open && d.matches(':modal'))).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => !!document.activeElement?.closest('dialog'))).toBe(true);
    }
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => !!document.activeElement?.closest('dialog'))).toBe(true);

    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Delete chat' }).click();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await chatIds(alice)).toContain(chatId);
    expect(await chatIds(bob)).toContain(chatId);
  });

  it('deletes a private chat for me only, or for both', async () => {
    const page = browser.page;
    const mine = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    await openInfo(page, mine, 'Bob');
    await page.getByRole('button', { name: 'Delete chat' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete for me' }).click();
    await page.getByText('Choose a chat').waitFor();
    await eventually(async () => expect(await chatIds(alice)).not.toContain(mine));
    expect(await chatIds(bob)).toContain(mine);

    const both = (await alice.client.createPrivateChat({ userId: carol.id })).id;
    await openInfo(page, both, 'Carol');
    await page.getByRole('button', { name: 'Delete chat' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete for both' }).click();
    await page.getByText('Choose a chat').waitFor();
    await eventually(async () => expect(await chatIds(carol)).not.toContain(both));
    expect(await chatIds(alice)).not.toContain(both);
  });
});
