import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, unzip, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, openBrowser, screenshot, type Browser } from './_browser.ts';

describe.skipIf(!browserAvailable())('downloading my data in Chromium', () => {
  let t: TestServer;
  let alice: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    // One export an hour: the second click meets the limit.
    t = await startTestServer('sqlite', { PARLEY_EXPORT_RATE: '1/3600s' });
    alice = await t.user('alice');
    const self = (await alice.client.listChats()).chats.find((c) => c.kind === 'self')!;
    await alice.client.sendMessage({ chatId: self.id, clientMessageId: 'n1', text: 'Remember the milk' });
    browser = await openBrowser('alice', t.url);
    const page = browser.page;
    await page.goto('/#/login');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(alice.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('list', { name: 'Chats' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('"Download my data" on the profile saves a zip with my profile and messages, and a second one within the hour shows the limit', async () => {
    const page = browser.page;
    await page.getByRole('link', { name: /Profile/ }).click();
    const card = page.getByRole('region', { name: 'My data' });
    const [download] = await Promise.all([page.waitForEvent('download'), card.getByRole('button', { name: 'Download my data' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^parley-alice-\d{4}-\d{2}-\d{2}\.zip$/);
    const zip = await unzip(readFileSync((await download.path())!));
    expect(JSON.parse(zip.get('profile.json')!.toString()).profile).toMatchObject({ id: alice.id, username: 'alice' });
    const chats = JSON.parse(zip.get('chats.json')!.toString());
    const saved = JSON.parse(zip.get(chats[0].messages.json)!.toString());
    expect(saved.messages.map((m: { text: string }) => m.text)).toEqual(['Remember the milk']);
    await card.getByText(/^Downloaded \(/).waitFor();
    await screenshot(page, '20-export-data');

    await card.getByRole('button', { name: 'Download my data' }).click();
    await card
      .getByRole('alert')
      .filter({ hasText: /Too many data exports, try again in \d+ seconds/ })
      .waitFor();
    expect(await card.getByRole('button', { name: 'Download my data' }).isEnabled()).toBe(true);
  });
});
