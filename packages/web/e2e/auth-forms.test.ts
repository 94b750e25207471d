import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, type Browser } from './_browser.ts';
import { signIn } from './_ux.ts';

const enabled = browserAvailable();

/** The error text linked to a field (aria-describedby), or '' when it has none. */
async function fieldError(field: Locator): Promise<string> {
  return field.evaluate((el) => {
    const id = el.getAttribute('aria-describedby');
    return (id && document.getElementById(id)?.textContent) || '';
  });
}

describe.skipIf(!enabled)('the sign-in and register forms', () => {
  let t: TestServer;
  let ann: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_LOGIN_LIMIT: '3/4s' });
    ann = await t.user('ann');
    browser = await openBrowser('visitor', t.url);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('clears old errors on the next submit and shows each error next to its field', async () => {
    const page = browser.page;
    await page.goto('/#/register');
    const form = page.getByRole('form', { name: 'Create an account' });
    await form.getByLabel('Invite code').fill(await t.invite());
    await form.getByLabel('Username').fill('newbie');
    await form.getByLabel('Password', { exact: true }).fill('long enough 1');
    await form.getByLabel('Repeat password').fill('long enough 2');
    await form.getByRole('button', { name: 'Create account' }).click();
    const confirm = form.getByLabel('Repeat password');
    await eventually(async () => expect(await fieldError(confirm)).toBe('The passwords do not match'));
    expect(await confirm.getAttribute('aria-invalid')).toBe('true');

    await confirm.fill('long enough 1');
    await form.getByLabel('Username').fill('no spaces please');
    await form.getByRole('button', { name: 'Create account' }).click();
    const username = form.getByLabel('Username');
    await eventually(async () => expect(await fieldError(username)).toBe('3 to 32 letters, digits or _'));
    expect(await fieldError(confirm)).toBe('');
    expect(await confirm.getAttribute('aria-invalid')).toBeNull();
    expect(await form.getByText('The passwords do not match').count()).toBe(0);

    // The server's refusal of a username goes under the username too.
    await username.fill('ann');
    await form.getByRole('button', { name: 'Create account' }).click();
    await eventually(async () => expect(await fieldError(username)).toContain('is taken'));
  });

  it('counts down a login rate limit and keeps the button disabled until it ends', async () => {
    const page = browser.page;
    await page.goto('/#/login');
    const form = page.getByRole('form', { name: 'Sign in' });
    await form.getByLabel('Username').fill(ann.username);
    await form.getByLabel('Password').fill('not the password');
    const button = form.getByRole('button', { name: 'Sign in' });
    const countdown = form.getByText(/Try again in \d+ seconds?/);
    for (let i = 0; i < 5 && !(await countdown.count()); i++) {
      await button.click();
      await eventually(async () => expect(await form.getByRole('alert').count()).toBe(1));
    }
    const first = Number((await countdown.textContent())!.match(/(\d+) second/)![1]);
    expect(first).toBeGreaterThan(0);
    expect(await button.isDisabled()).toBe(true);
    if (first > 1) await eventually(async () => expect(Number((await countdown.textContent())!.match(/(\d+) second/)![1])).toBeLessThan(first));
    // When it ends, the button works again and the right password signs in.
    await eventually(async () => expect(await button.isDisabled()).toBe(false), 8000);
    expect(await countdown.count()).toBe(0);
    await form.getByLabel('Password').fill(ann.password);
    await button.click();
    await page.getByRole('list', { name: 'Chats' }).waitFor();
  });

  it('lists devices by a readable name with the date they signed in, and asks before ending one', async () => {
    const page = browser.page;
    const ua = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15';
    const other = t.client({ userAgent: ua });
    await eventually(() => other.login({ username: ann.username, password: ann.password, deviceName: 'Safari on macOS' }).then(() => {}), 8000);
    await page.goto('/#/sessions');
    const others = page.getByRole('list', { name: 'Other devices' });
    const row = others.locator('li', { hasText: 'Safari on macOS' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/Signed in .+ · last active/);
    expect(await row.textContent()).not.toContain('Mozilla');

    const asked: string[] = [];
    page.once('dialog', (d) => asked.push(d.message()));
    await row.getByRole('button', { name: 'Terminate Safari on macOS' }).click();
    await row.waitFor({ state: 'detached' });
    expect(asked).toEqual(['Sign out Safari on macOS?']);
    await expect(other.getMe()).rejects.toMatchObject({ status: 401 });
  });

  it('tells a newcomer how to begin, and the first admin to invite people', async () => {
    const page = browser.page;
    await page.goto('/#/');
    const note = page.getByRole('note');
    await note.waitFor();
    expect(await note.getByRole('link', { name: 'Start a chat' }).getAttribute('href')).toBe('#/new');
    expect(await note.getByRole('link', { name: 'make an invite link' }).count()).toBe(0);

    const password = 'the boss password';
    await t.client().register({ inviteCode: await t.invite({ admin: true }), username: 'boss', password, displayName: 'Boss' });
    await page.evaluate(() => localStorage.clear());
    await page.reload();
    await signIn(page, { username: 'boss', password } as TestUser);
    expect(await note.textContent()).toContain('Invite your friends');
    expect(await note.getByRole('link', { name: 'make an invite link' }).getAttribute('href')).toBe('#/invites');
  });
});
