import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '@parley/test-kit';
import { browserAvailable, eventually, message, openBrowser, screenshot, type Browser } from './_browser.ts';

const PASSWORD = 'correct horse battery';

async function register(b: Browser, invite: string, username: string, displayName: string): Promise<void> {
  const { page } = b;
  await page.goto('/#/register');
  await page.getByLabel('Invite code').fill(invite);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(displayName);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Repeat password').fill(PASSWORD);
  if (username === 'alice') await screenshot(page, '01-register');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('list', { name: 'Chats' }).waitFor();
}

async function login(b: Browser, username: string): Promise<void> {
  const { page } = b;
  await page.goto('/#/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('list', { name: 'Chats' }).waitFor();
}

function chatRow(page: Page, title: string) {
  return page.getByRole('list', { name: 'Chats' }).locator('a.chat-row', { hasText: title });
}

async function openChat(page: Page, title: string): Promise<void> {
  await chatRow(page, title).click();
  await page.getByRole('heading', { name: title, level: 2 }).waitFor();
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('textbox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

async function createChat(page: Page, form: 'Create a group' | 'Create a channel', title: string, members: string): Promise<void> {
  await page.getByRole('link', { name: 'New chat' }).click();
  const f = page.getByRole('form', { name: form });
  await f.getByLabel(form === 'Create a group' ? 'Group name' : 'Channel name').fill(title);
  await f.getByLabel(/usernames/).fill(members);
  await f.getByRole('button').click();
  await page.getByRole('heading', { name: title, level: 2 }).waitFor();
}

const enabled = browserAvailable();

describe.skipIf(!enabled)('the web client in Chromium', () => {
  let t: TestServer;
  let alice: Browser;
  let bob: Browser;
  let carol: Browser | undefined;
  let alice2: Browser | undefined;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    [alice, bob] = await Promise.all([openBrowser('alice', t.url), openBrowser('bob', t.url, { width: 360, height: 740 })]);
  });

  afterAll(async () => {
    await Promise.all([alice, bob, carol, alice2].map((b) => b?.close()));
    await t?.close();
  });

  it('serves the page with a strict Content-Security-Policy', async () => {
    const res = await fetch(`${t.url}/`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    // A browser navigation to a client route gets the page; the API keeps its JSON 404.
    expect((await fetch(`${t.url}/chat/x`, { headers: { accept: 'text/html' } })).status).toBe(200);
    const api = await fetch(`${t.url}/api/v1/nope`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect((await api.json()).error.code).toBe('not_found');
  });

  it('refuses a wrong invite code and keeps what was typed', async () => {
    const b = bob.page;
    await b.goto('/#/register');
    await b.getByLabel('Invite code').fill('not-a-real-code');
    await b.getByLabel('Username').fill('bob');
    await b.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await b.getByLabel('Repeat password').fill(PASSWORD);
    await b.getByRole('button', { name: 'Create account' }).click();
    await b.getByRole('alert').waitFor();
    expect(await b.getByLabel('Invite code').inputValue()).toBe('not-a-real-code');
    expect(await b.getByLabel('Username').inputValue()).toBe('bob');
  });

  it('registers alice and bob with invite codes', async () => {
    await Promise.all([register(alice, await t.invite(), 'alice', 'Alice'), register(bob, await t.invite(), 'bob', 'Bob')]);
    await chatRow(alice.page, 'Saved messages').waitFor();
    await screenshot(alice.page, '02-chat-list');
  });

  it('starts a private chat and exchanges messages live on both sides', async () => {
    const a = alice.page;
    const b = bob.page;
    await a.getByRole('link', { name: 'New chat' }).click();
    await screenshot(a, '03-new-chat');
    const form = a.getByRole('form', { name: 'Start a private chat' });
    await form.getByLabel('Username').fill('bob');
    await form.getByRole('button', { name: 'Start chat' }).click();
    await a.getByRole('heading', { name: 'Bob', level: 2 }).waitFor();

    await send(a, 'Hello Bob, see https://example.com/parley');
    await message(a, 'Hello Bob').waitFor();
    await send(a, '<b>not bold</b> <img src=x onerror=alert(1)>');

    // Bob's list shows the new chat live, with its unread count and the last message.
    await eventually(async () => expect(await chatRow(b, 'Alice').textContent()).toContain(', 2 unread'));
    expect(await chatRow(b, 'Alice').textContent()).toContain('<b>not bold</b>');
    await screenshot(b, '04-phone-chat-list');
    await openChat(b, 'Alice');
    const link = message(b, 'Hello Bob').getByRole('link');
    expect(await link.getAttribute('href')).toBe('https://example.com/parley');
    expect(await link.getAttribute('rel')).toContain('noopener');
    // Text that looks like HTML stays text.
    const raw = message(b, '<b>not bold</b>');
    await raw.waitFor();
    expect(await raw.locator('b, img').count()).toBe(0);

    await send(b, 'Hi Alice!');
    await message(a, 'Hi Alice!').waitFor();
    await message(b, 'Hi Alice!').locator('[data-status="sent"], [data-status="read"]').waitFor();
    await screenshot(b, '05-phone-chat');
  });

  it('shows typing and read marks', async () => {
    const a = alice.page;
    const b = bob.page;
    await b.getByRole('textbox', { name: 'Message' }).pressSequentially('typing something', { delay: 120 });
    await a.locator('.pane-header .subtitle', { hasText: 'typing…' }).waitFor();
    // Bob has the chat open at the bottom, so alice's messages show as read.
    await message(a, 'Hello Bob').locator('[data-status="read"]').waitFor();
    await b.getByRole('textbox', { name: 'Message' }).fill('');
    await screenshot(a, '06-chat-desktop');
  });

  it('replies, edits and deletes for everyone', async () => {
    const a = alice.page;
    const b = bob.page;
    const original = message(b, 'Hello Bob');
    await original.focus();
    await original.getByRole('button', { name: 'Reply' }).click();
    await b.getByText('Replying to Alice').waitFor();
    await send(b, 'Answering that');
    await message(a, 'Answering that').locator('.quote', { hasText: 'Hello Bob' }).waitFor();

    const mine = message(a, 'Hello Bob, see');
    await mine.hover();
    await mine.getByRole('button', { name: 'Edit' }).click();
    await a.getByRole('textbox', { name: 'Message' }).fill('Hello Bob (edited)');
    await a.getByRole('textbox', { name: 'Message' }).press('Enter');
    await message(b, 'Hello Bob (edited)').locator('.edited').waitFor();

    const doomed = message(a, '<b>not bold</b>');
    await doomed.hover();
    await doomed.getByRole('button', { name: 'Delete for everyone' }).click();
    await eventually(async () => expect(await message(b, '<b>not bold</b>').count()).toBe(0));
    expect(await b.locator('article.msg.deleted').count()).toBeGreaterThan(0);
  });

  it('runs a group with a third user', async () => {
    // Carol's system is set to dark: the page follows it.
    carol = await openBrowser('carol', t.url, { width: 1000, height: 700 }, 'dark');
    await register(carol, await t.invite(), 'carol', 'Carol');
    await createChat(alice.page, 'Create a group', 'Trio', 'bob, carol');
    await chatRow(carol.page, 'Trio').waitFor();
    await openChat(carol.page, 'Trio');
    await send(carol.page, 'Hi both, carol here');
    await message(alice.page, 'carol here').locator('.sender', { hasText: 'Carol' }).waitFor();
    const background = await carol.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(21, 26, 33)');
    await screenshot(carol.page, '07-group-dark');
    await bob.page.getByRole('link', { name: 'Back to chats' }).click();
    await openChat(bob.page, 'Trio');
    await message(bob.page, 'carol here').waitFor();
    await screenshot(alice.page, '07-group-light');
    await alice.page.getByRole('link', { name: 'Chat info and members' }).click();
    const members = alice.page.getByRole('list', { name: 'Members' });
    await members.locator('li', { hasText: 'Carol' }).waitFor();
    await members.locator('li', { hasText: 'Bob' }).getByRole('button', { name: 'Make admin' }).click();
    await members.locator('li', { hasText: 'Bob' }).getByText('Admin', { exact: true }).waitFor();
    await screenshot(alice.page, '08-members');
    await carol.close();
    carol = undefined;
  });

  it('keeps subscribers of a channel from posting', async () => {
    await createChat(alice.page, 'Create a channel', 'News', 'bob');
    await send(alice.page, 'First post');
    await bob.page.getByRole('link', { name: 'Back to chats' }).click();
    await openChat(bob.page, 'News');
    await message(bob.page, 'First post').waitFor();
    expect(await bob.page.getByRole('textbox', { name: 'Message' }).count()).toBe(0);
    await bob.page.getByRole('note').getByText("Only the channel's admins can post here").waitFor();
    await screenshot(bob.page, '09-channel-subscriber');
  });

  it('delivers everything exactly once after bob was offline, and sends what he queued', async () => {
    const a = alice.page;
    const b = bob.page;
    await b.getByRole('link', { name: 'Back to chats' }).click();
    await openChat(b, 'Alice');
    await openChat(a, 'Bob');

    await bob.context.setOffline(true);
    await b.locator('.banner.offline').waitFor();
    await send(a, 'While you were away 1');
    await send(a, 'While you were away 2');
    await message(a, 'While you were away 2').locator('[data-status="sent"], [data-status="read"]').waitFor();
    await send(b, 'Queued while offline');
    await message(b, 'Queued while offline').locator('[data-status="pending"]').waitFor();
    await screenshot(b, '10-offline');
    expect(await message(b, 'While you were away').count()).toBe(0);

    await bob.context.setOffline(false);
    await b.locator('.banner').waitFor({ state: 'detached' });
    await message(b, 'While you were away 2').waitFor();
    await message(a, 'Queued while offline').waitFor();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await message(b, 'While you were away 1').count()).toBe(1);
    expect(await message(b, 'While you were away 2').count()).toBe(1);
    expect(await message(b, 'Queued while offline').count()).toBe(1);
    expect(await message(a, 'Queued while offline').count()).toBe(1);
    await message(b, 'Queued while offline').locator('[data-status="sent"], [data-status="read"]').waitFor();

    // And on the server, each of these messages exists once.
    const chats = await t.server.ctx.db.kysely.selectFrom('messages').select('text').where('text', 'like', '%offline%').execute();
    expect(chats.length).toBe(1);
  });

  it('keeps the session and the open chat across a page reload', async () => {
    const b = bob.page;
    await b.reload();
    await b.getByRole('heading', { name: 'Alice', level: 2 }).waitFor();
    await message(b, 'While you were away 2').waitFor();
    expect(await message(b, 'While you were away 2').count()).toBe(1);
  });

  it('terminates another device from the sessions page, which returns to the login screen', async () => {
    alice2 = await openBrowser('alice-laptop', t.url);
    await login(alice2, 'alice');
    await chatRow(alice2.page, 'Bob').waitFor();

    const a = alice.page;
    await a.getByRole('link', { name: 'Devices' }).click();
    const others = a.getByRole('list', { name: 'Other devices' });
    await others.locator('li').first().waitFor();
    expect(await others.locator('li').count()).toBe(1);
    await screenshot(a, '11-sessions');
    await others.getByRole('button', { name: /Terminate/ }).click();
    await alice2.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await alice2.page.getByText('This session was ended').waitFor();
    await screenshot(alice2.page, '12-signed-out');
    await eventually(async () => expect(await others.locator('li').count()).toBe(0));
  });

  it('keeps notes in saved messages, and shows the profile and invites pages', async () => {
    const a = alice.page;
    await a.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Saved messages' }).click();
    await a.getByRole('heading', { name: 'Saved messages', level: 2 }).waitFor();
    await send(a, 'Note to self');
    await message(a, 'Note to self').waitFor();

    await a.getByRole('link', { name: 'Invites' }).click();
    await a.getByRole('button', { name: 'Create invite' }).click();
    const code = await a.getByLabel('New invite code').inputValue();
    expect(code.length).toBeGreaterThan(10);
    await a.getByRole('list', { name: 'Your invites' }).locator('li').first().waitFor();
    await screenshot(a, '12-invites');
    await a.getByRole('link', { name: /Profile/ }).click();
    await a.getByLabel('Display name').waitFor();
    await screenshot(a, '13-profile');
  });
});
