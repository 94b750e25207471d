import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, screenshot, type Browser } from './_browser.ts';
import { signIn } from './_ux.ts';

/** The admin page's chunk among the scripts this page has fetched so far. */
async function adminChunkLoaded(page: Page): Promise<boolean> {
  return page.evaluate(() => performance.getEntriesByType('resource').some((e) => /\/assets\/admin-page-[\w-]+\.js$/.test(e.name)));
}

/** The row of one account on the Users tab, and the details it opens. */
function account(page: Page, username: string) {
  return {
    line: page.getByRole('list', { name: 'Users' }).getByRole('button', { name: new RegExp(`@${username}( |$)`) }),
    details: page.getByRole('group', { name: `Account @${username}` }),
  };
}

async function openAccount(page: Page, username: string) {
  const { line, details } = account(page, username);
  if ((await line.getAttribute('aria-expanded')) !== 'true') await line.click();
  await details.waitFor();
  return details;
}

/** Answers the confirmation dialog with `choice`. */
async function confirmWith(page: Page, choice: string) {
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: choice, exact: true }).click();
  await dialog.waitFor({ state: 'detached' });
}

describe.skipIf(!browserAvailable())('the admin page in Chromium', () => {
  let t: TestServer;
  let root: TestUser;
  let bob: TestUser;
  let admin: Browser;
  let bobBrowser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_LOGIN_LIMIT: '1000/60s' });
    const client = t.client();
    const password = 'root password 1';
    const me = await client.register({ inviteCode: await t.invite({ admin: true }), username: 'root', password, displayName: 'Root' });
    root = { id: me.id, username: 'root', password, client, session: await client.login({ username: 'root', password, deviceName: 'cli' }) };
    bob = await t.user('bob');
    admin = await openBrowser('root', t.url);
    // Bob uses a phone: the non-admin's view is checked at 360 px.
    bobBrowser = await openBrowser('bob', t.url, { width: 360, height: 740 });
    await signIn(bobBrowser.page, bob);
  });

  afterAll(async () => {
    await admin?.close();
    await bobBrowser?.close();
    await t?.close();
  });

  it('shows a non-admin no link, and on #/admin only the refusal, without loading the admin chunk', async () => {
    const b = bobBrowser.page;
    await b.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Devices' }).waitFor();
    expect(await b.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Administration' }).count()).toBe(0);
    await b.goto('/#/admin');
    await b.getByRole('alert').filter({ hasText: 'Only administrators can open this page' }).waitFor();
    expect(await b.getByRole('list', { name: 'Users' }).count()).toBe(0);
    expect(await adminChunkLoaded(b)).toBe(false);
    await screenshot(b, '70-admin-refused-360');
    await b.goto('/#/');
  });

  it('loads the admin chunk only when the admin opens the page from the toolbar link', async () => {
    const a = admin.page;
    await signIn(a, root);
    expect(await adminChunkLoaded(a)).toBe(false);
    await a.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Administration' }).click();
    await account(a, 'bob').line.waitFor();
    expect(await adminChunkLoaded(a)).toBe(true);
    await a.getByText('2 of 2 accounts').waitFor();
    // The search narrows the list.
    await a.getByLabel('Find a user').fill('bo');
    await a.getByText('1 of 2 accounts').waitFor();
    expect(await account(a, 'root').line.count()).toBe(0);
    await a.getByLabel('Find a user').fill('');
    // Nothing to do against one's own account.
    const own = await openAccount(a, 'root');
    expect(await own.getByRole('button', { name: 'Disable' }).count()).toBe(0);
    await account(a, 'root').line.click();
  });

  it('disables Bob, whose open session is signed out and who cannot sign in, then enables him again', async () => {
    const a = admin.page;
    const b = bobBrowser.page;
    const details = await openAccount(a, 'bob');
    await details.getByRole('button', { name: 'Disable' }).click();
    await confirmWith(a, 'Disable');
    await details.getByRole('status').filter({ hasText: 'Account disabled' }).waitFor();
    await account(a, 'bob').line.getByText('disabled', { exact: true }).waitFor();
    await screenshot(a, '71-admin-user-disabled');

    await b.getByRole('heading', { name: 'Sign in' }).waitFor();
    await b.getByLabel('Username').fill('bob');
    await b.getByLabel('Password').fill(bob.password);
    await b.getByRole('button', { name: 'Sign in' }).click();
    await b.getByRole('alert').filter({ hasText: 'This account is disabled' }).waitFor();

    await details.getByRole('button', { name: 'Enable' }).click();
    await confirmWith(a, 'Enable');
    await details.getByRole('status').filter({ hasText: 'Account enabled' }).waitFor();
    expect(await account(a, 'bob').line.getByText('disabled', { exact: true }).count()).toBe(0);
    await signIn(b, bob);
  });

  it('resets Bob’s password: shown once, his session ends, and he signs in with the new one', async () => {
    const a = admin.page;
    const b = bobBrowser.page;
    const details = await openAccount(a, 'bob');
    await details.getByRole('button', { name: 'Reset password' }).click();
    await confirmWith(a, 'Reset password');
    const field = details.getByLabel('New password for @bob');
    await field.waitFor();
    const password = await field.inputValue();
    expect(password.length).toBeGreaterThanOrEqual(8);

    await b.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expect(t.client().login({ username: 'bob', password: bob.password, deviceName: 'old' })).rejects.toMatchObject({ code: 'invalid_credentials' });
    bob = { ...bob, password };
    await signIn(b, bob);
  });

  it('lists Bob’s devices and signs him out of them', async () => {
    const a = admin.page;
    const b = bobBrowser.page;
    // The list and the details reload when asked: reopen the page to see the new session.
    await a.goto('/#/');
    await a.goto('/#/admin/users');
    const details = await openAccount(a, 'bob');
    const devices = details.getByRole('list', { name: 'Devices of @bob' });
    await eventually(async () => expect(await devices.locator('li').count()).toBe(1));
    await details.getByRole('button', { name: 'End all sessions' }).click();
    await confirmWith(a, 'End all sessions');
    await details.getByRole('status').filter({ hasText: '1 session ended' }).waitFor();
    await details.getByText('Signed in nowhere.').waitFor();
    await b.getByRole('heading', { name: 'Sign in' }).waitFor();
    await b.getByText('This session was ended').waitFor();
  });

  it('creates an invite and shows who registered with it', async () => {
    const a = admin.page;
    await a.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Invites' }).click();
    const form = a.getByRole('form', { name: 'Create an invite' });
    await form.getByLabel('Uses').fill('2');
    await form.getByRole('button', { name: 'Create invite' }).click();
    const link = await form.getByLabel('New invite link').inputValue();
    const code = new URL(link.replace('/#/', '/')).searchParams.get('code')!;
    const all = a.getByRole('list', { name: 'All invites' });
    const row = all.locator('li', { hasText: `${code.slice(0, 4)}…` });
    await row.getByText('0/2 used').waitFor();

    await t.client().register({ inviteCode: code, username: 'dave', password: 'pw-dave-secret', displayName: 'Dave' });
    const tabs = a.getByRole('navigation', { name: 'Administration' });
    await tabs.getByRole('link', { name: 'Users' }).click();
    await account(a, 'dave').line.waitFor();
    await tabs.getByRole('link', { name: 'Invites' }).click();
    await row.getByText('1/2 used').waitFor();
    await row.getByText('Used by @dave').waitFor();
    expect(await row.getByRole('button', { name: /Revoke/ }).count()).toBe(1);
    await screenshot(a, '72-admin-invites');
    // The creator's own Invites page says it too.
    await a.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Invites' }).click();
    await a
      .getByRole('list', { name: 'Your invites' })
      .locator('li', { hasText: `${code.slice(0, 4)}…` })
      .getByText('Used by @dave')
      .waitFor();
  });

  it('exports an account’s data, and deletes it only once its username is typed', async () => {
    const a = admin.page;
    await a.goto('/#/admin/users');
    const details = await openAccount(a, 'dave');
    const [download] = await Promise.all([a.waitForEvent('download'), details.getByRole('button', { name: 'Export data' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^parley-dave.*\.zip$/);
    await details.getByRole('status').filter({ hasText: 'Export downloaded' }).waitFor();

    const remove = details.getByRole('button', { name: 'Delete account' });
    const typed = details.getByLabel('To delete this account, type its username');
    await typed.fill('dav');
    expect(await remove.isDisabled()).toBe(true);
    await typed.fill('dave');
    await remove.click();
    await a.getByRole('status').filter({ hasText: 'Account @dave deleted' }).waitFor();
    await eventually(async () => expect(await account(a, 'dave').line.count()).toBe(0));
    await expect(t.client().login({ username: 'dave', password: 'pw-dave-secret', deviceName: 'x' })).rejects.toMatchObject({ code: 'invalid_credentials' });
  });

  it('shows the server’s health and limits, and fits a 360 px phone in light and dark', async () => {
    const a = admin.page;
    await a.goto('/#/admin');
    await a.getByRole('navigation', { name: 'Administration' }).getByRole('link', { name: 'Server' }).click();
    const health = a.getByRole('region', { name: 'Health' });
    await health.getByText('sqlite').waitFor();
    await a.getByRole('region', { name: 'Limits' }).getByText('Message length (characters)').waitFor();
    await a.setViewportSize({ width: 360, height: 740 });
    // The sidebar's toolbar, one link longer for admins, still fits.
    await a.goto('/#/');
    expect(await a.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Administration' }).isVisible()).toBe(true);
    expect(await a.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot(a, '75-admin-toolbar-360');
    for (const tab of ['server', 'invites', 'users'] as const) {
      await a.goto(`/#/admin/${tab}`);
      await a.getByRole('heading', { name: 'Administration' }).waitFor();
      if (tab === 'users') await openAccount(a, 'bob');
      await eventually(async () => expect(await a.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360));
    }
    await screenshot(a, '73-admin-user-360');
    await a.emulateMedia({ colorScheme: 'dark' });
    expect(await a.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe('rgb(255, 255, 255)');
    await screenshot(a, '74-admin-user-360-dark');
  });
});
