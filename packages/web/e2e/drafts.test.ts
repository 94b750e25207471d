import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, message, openBrowser, type Browser } from './_browser.ts';
import { chatRow, composer, openChat, send, signIn } from './_ux.ts';

const enabled = browserAvailable();

describe.skipIf(!enabled)('drafts', () => {
  let t: TestServer;
  let bob: TestUser;
  let carol: TestUser;
  let dave: TestUser;
  let withCarol: string;
  let withDave: string;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    [bob, carol, dave] = await t.users('bob', 'carol', 'dave');
    withCarol = (await bob.client.createPrivateChat({ userId: carol.id })).id;
    withDave = (await bob.client.createPrivateChat({ userId: dave.id })).id;
    browser = await openBrowser('bob', t.url);
    await signIn(browser.page, bob);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('keeps a draft per chat across switches and reloads, and shows it as "Draft:" in the list', async () => {
    const page = browser.page;
    await openChat(page, withCarol, 'Carol');
    await composer(page).fill('half a thought');
    await chatRow(page, 'Dave').click();
    await page.getByRole('heading', { name: 'Dave', level: 2 }).waitFor();
    expect(await composer(page).inputValue()).toBe('');
    await eventually(async () => expect(await chatRow(page, 'Carol').locator('.preview').textContent()).toBe('Draft: half a thought'));

    await chatRow(page, 'Carol').click();
    await page.getByRole('heading', { name: 'Carol', level: 2 }).waitFor();
    expect(await composer(page).inputValue()).toBe('half a thought');

    await page.reload();
    await page.getByRole('heading', { name: 'Carol', level: 2 }).waitFor();
    expect(await composer(page).inputValue()).toBe('half a thought');

    // Sent, the draft is gone.
    await composer(page).press('Enter');
    await message(page, 'half a thought').waitFor();
    await chatRow(page, 'Dave').click();
    await page.getByRole('heading', { name: 'Dave', level: 2 }).waitFor();
    await eventually(async () => expect(await chatRow(page, 'Carol').locator('.preview').textContent()).toBe('You: half a thought'));
  });

  it('keeps the draft while I edit a message, and brings it back after', async () => {
    const page = browser.page;
    await openChat(page, withDave, 'Dave');
    await send(page, 'first version');
    await message(page, 'first version').waitFor();
    await composer(page).fill('unfinished');
    await message(page, 'first version').hover();
    await message(page, 'first version').getByRole('button', { name: 'Edit' }).click();
    expect(await composer(page).inputValue()).toBe('first version');
    await composer(page).fill('second version');
    await composer(page).press('Enter');
    await message(page, 'second version').waitFor();
    // The edited text may show before the edit is answered and the draft put back.
    await eventually(async () => expect(await composer(page).inputValue()).toBe('unfinished'));
  });

  it('forgets the drafts when I sign out', async () => {
    const page = browser.page;
    await openChat(page, withCarol, 'Carol');
    await composer(page).fill('secret plan');
    const stored = () => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('parley.drafts')));
    expect(await stored()).toHaveLength(1);
    await page.goto('/#/profile');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await stored()).toEqual([]);
    await signIn(page, bob);
    await openChat(page, withCarol, 'Carol');
    expect(await composer(page).inputValue()).toBe('');
  });
});
