import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, type Browser } from './_browser.ts';
import { signIn } from './_ux.ts';

const enabled = browserAvailable();

describe.skipIf(!enabled)('finding people for a new chat', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    [alice, bob, carol] = await t.users('alice', 'bob', 'carol');
    await t.user('carlos');
    browser = await openBrowser('alice', t.url, { width: 900, height: 800 });
    await signIn(browser.page, alice);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('suggests people as you type, by the start of a name; arrows and Enter take one', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'New chat' }).click();
    const form = page.getByRole('form', { name: 'Start a private chat' });
    const field = form.getByRole('combobox', { name: 'Username' });
    await field.pressSequentially('car');
    const options = form.getByRole('option');
    const names = () => form.locator('[role=option] .who').allTextContents();
    await eventually(async () => expect((await names()).sort()).toEqual(['Carlos@carlos', 'Carol@carol']));
    expect(await field.getAttribute('aria-expanded')).toBe('true');
    // Down to the second, back up to the first, and take the one marked.
    await field.press('ArrowDown');
    const second = await form.locator('[role=option][aria-selected=true] .who').textContent();
    await field.press('ArrowUp');
    const first = await form.locator('[role=option][aria-selected=true] .who').textContent();
    expect(first).not.toBe(second);
    await field.press('Enter');
    expect(await field.inputValue()).toBe(first!.slice(first!.indexOf('@') + 1));
    expect(await options.count()).toBe(0);
    // Only my pick: the suggestions are gone and the form did not go off on that Enter.
    expect(page.url()).toContain('#/new');

    await field.fill('');
    await field.pressSequentially('Car');
    await form.getByRole('option', { name: /Carol/ }).click();
    expect(await field.inputValue()).toBe('carol');
    await form.getByRole('button', { name: 'Start chat' }).click();
    await page.getByRole('heading', { name: 'Carol', level: 2 }).waitFor();
  });

  it('builds a group from several picks, each suggestion for the name being typed', async () => {
    const { page } = browser;
    await page.getByRole('link', { name: 'New chat' }).click();
    const form = page.getByRole('form', { name: 'Create a group' });
    await form.getByLabel('Group name').fill('Picked');
    const field = form.getByRole('combobox', { name: /Members/ });
    await field.pressSequentially('bo');
    await form.getByRole('option', { name: /Bob/ }).click();
    await field.pressSequentially('caro');
    await eventually(async () => expect(await form.locator('[role=option] .who').allTextContents()).toEqual(['Carol@carol']));
    await field.press('Enter');
    expect(await field.inputValue()).toBe('bob, carol, ');
    // A whole username typed is a pick: nothing is suggested over the form's button.
    await field.pressSequentially('carlos');
    await new Promise((r) => setTimeout(r, 400));
    expect(await form.getByRole('option').count()).toBe(0);
    await field.fill('bob, carol, ');
    await form.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('heading', { name: 'Picked', level: 2 }).waitFor();
    const group = (await alice.client.listChats()).chats.find((c) => c.title === 'Picked')!;
    const members = (await alice.client.listMembers({ chatId: group.id })).members.map((m) => m.user.id).sort();
    expect(members).toEqual([alice.id, bob.id, carol.id].sort());
  });

  it("shows a contact's new name at once, in the chat list and the open chat's header", async () => {
    const { page } = browser;
    const chat = (await alice.client.listChats()).chats.find((c) => c.kind === 'private' && c.peer?.id === carol.id)!;
    await page.goto(`/#/chat/${encodeURIComponent(chat.id)}`);
    await page.getByRole('heading', { name: 'Carol', level: 2 }).waitFor();
    await carol.client.updateMe({ displayName: 'Carol Danvers' });
    await page.getByRole('heading', { name: 'Carol Danvers', level: 2 }).waitFor({ timeout: 5000 });
    await eventually(async () => expect(await page.getByRole('list', { name: 'Chats' }).textContent()).toContain('Carol Danvers'));
  });
});
