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

  it('mutes any chat from chat info, which hides its unread badge', async () => {
    const page = browser.page;
    const chatId = (await bob.client.createPrivateChat({ userId: alice.id })).id;
    await bob.client.sendMessage({ chatId, text: 'unread for alice', clientMessageId: 'mute-1' });
    // Straight to the info page: opening the chat would read the message.
    await page.goto(`/#/chat/${chatId}/info`);
    const row = page.locator(`a.chat-row[data-chat-id="${chatId}"]`);
    await eventually(async () => expect(await row.locator('.badge').textContent()).toBe('1'));
    await page.getByRole('button', { name: 'Mute' }).click();
    await page.getByRole('button', { name: 'Unmute' }).waitFor();
    expect(await row.locator('.badge').count()).toBe(0);
    expect((await alice.client.getChat({ chatId })).muted).toBe(true);
    await page.getByRole('button', { name: 'Unmute' }).click();
    await row.locator('.badge').waitFor();
    expect((await alice.client.getChat({ chatId })).muted).toBe(false);
  });

  it('lets the owner make another member the owner', async () => {
    const page = browser.page;
    const chatId = (await alice.client.createGroup({ title: 'Handover', memberIds: [bob.id] })).id;
    await openInfo(page, chatId, 'Handover');
    await page.locator('li[data-username="bob"]').getByRole('button', { name: 'Make owner' }).click();
    await page.getByRole('dialog', { name: 'Make Bob the owner?' }).getByRole('button', { name: 'Make owner' }).click();
    await eventually(async () => expect(await page.locator('li[data-username="bob"] .role').textContent()).toBe('Owner'));
    expect(await page.locator('li[data-username="alice"] .role').textContent()).toBe('Admin');
    const { members } = await bob.client.listMembers({ chatId });
    expect(members.find((m) => m.user.id === bob.id)?.role).toBe('owner');
  });

  it('lets the owner hand the group over and leave', async () => {
    const page = browser.page;
    const chatId = (await alice.client.createGroup({ title: 'Farewell', memberIds: [bob.id, carol.id] })).id;
    await openInfo(page, chatId, 'Farewell');
    await page.getByRole('button', { name: 'Leave' }).click();
    const dialog = page.getByRole('dialog', { name: 'Leave Farewell?' });
    await dialog.getByLabel('The new owner').selectOption({ label: 'Carol (@carol)' });
    await dialog.getByRole('button', { name: 'Hand over and leave' }).click();
    await page.getByText('Choose a chat').waitFor();
    const { members } = await carol.client.listMembers({ chatId });
    expect(members.find((m) => m.user.id === carol.id)?.role).toBe('owner');
    expect(members.some((m) => m.user.id === alice.id)).toBe(false);
    await eventually(async () => expect(await chatIds(alice)).not.toContain(chatId));
  });

  it('shows a channel subscriber who runs the channel and how many subscribe to it, not the other subscribers', async () => {
    const page = browser.page;
    const chatId = (await bob.client.createChannel({ title: 'Bulletin', memberIds: [alice.id, carol.id] })).id;
    await openInfo(page, chatId, 'Bulletin');
    const list = page.getByRole('list', { name: 'Members' });
    await list.locator('li[data-username="bob"]').waitFor();
    expect(await list.locator('li').count()).toBe(1);
    expect(await page.locator('li[data-username="carol"]').count()).toBe(0);
    await page.getByText('3 subscribers').waitFor();
  });
});
