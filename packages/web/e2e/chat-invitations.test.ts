import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, openBrowser, screenshot, type Browser } from './_browser.ts';

describe.skipIf(!browserAvailable())('choosing who may add me, and answering invitations, in Chromium', () => {
  let t: TestServer;
  let owner: TestUser;
  let guarded: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    [owner, guarded] = await t.users('owner', 'guarded');
    browser = await openBrowser('guarded', t.url);
    const page = browser.page;
    await page.goto('/#/login');
    await page.getByLabel('Username').fill('guarded');
    await page.getByLabel('Password').fill(guarded.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('list', { name: 'Chats' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('the profile page saves who may add me to groups and channels', async () => {
    const page = browser.page;
    await page.getByRole('link', { name: /Profile/ }).click();
    await page.getByLabel('Who can add me to groups and channels').selectOption('nobody');
    await page.getByRole('form', { name: 'Profile' }).getByRole('button', { name: 'Save' }).click();
    await page.getByText('Profile saved').waitFor();
    expect((await guarded.client.getMe()).addPolicy).toBe('nobody');
  });

  it('an invitation shows on the profile page, and joining puts the group in my chat list', async () => {
    const group = await owner.client.createGroup({ title: 'Book club', memberIds: [guarded.id] });
    const page = browser.page;
    await page.reload();
    const card = page.getByRole('region', { name: 'Invitations' });
    await card.getByText('Book club').waitFor();
    await screenshot(page, '14-invitations');
    await card.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('list', { name: 'Chats' }).locator('a.chat-row', { hasText: 'Book club' }).waitFor();
    expect((await guarded.client.listChats()).chats.map((c) => c.id)).toContain(group.id);
    await card.waitFor({ state: 'detached' });
  });
});
