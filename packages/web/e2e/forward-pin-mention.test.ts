import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, type Browser } from './_browser.ts';
import { composer, openChat, signIn } from './_ux.ts';

const enabled = browserAvailable();

describe.skipIf(!enabled)('forward, pin and mention', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_MESSAGE_RATE: '10000/10s', PARLEY_WRITE_RATE: '10000/10s' });
    [alice, bob, carol] = await t.users('alice', 'bob', 'carol');
    browser = await openBrowser('alice', t.url);
    await signIn(browser.page, alice);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('forwards a message to another chat picked in the dialog, where it shows where it came from', async () => {
    const page = browser.page;
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const group = await alice.client.createGroup({ title: 'Book club', memberIds: [carol.id] });
    const m = await bob.client.sendMessage({ chatId: chat.id, clientMessageId: 'f1', text: 'Read this one' });
    await openChat(page, chat.id, 'Bob');
    const bubble = page.locator(`article.msg[data-key="${m.id}"]`);
    await bubble.click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Forward' }).click();
    const dialog = page.getByRole('dialog', { name: 'Forward to' });
    await dialog.getByRole('searchbox', { name: 'Find a chat' }).fill('book');
    expect(await dialog.getByRole('option').count()).toBe(1);
    await dialog.getByRole('option', { name: 'Book club' }).waitFor();
    await dialog.getByRole('searchbox', { name: 'Find a chat' }).press('Enter');

    await page.getByRole('heading', { name: 'Book club', level: 2 }).waitFor();
    const forwarded = page.locator('article.msg', { hasText: 'Read this one' });
    await forwarded.locator('.forwarded', { hasText: 'Forwarded from Bob' }).waitFor();
    await eventually(async () => {
      const seen = (await carol.client.listMessages({ chatId: group.id })).messages.at(-1)!;
      expect([seen.text, seen.senderId, seen.forwarded?.senderId]).toEqual(['Read this one', alice.id, bob.id]);
    });
  });

  it('pins from the menu; the bar shows the latest pin, jumps to it on a click and moves to the next; unpin from the bar', async () => {
    const page = browser.page;
    const group = await alice.client.createGroup({ title: 'Pin board', memberIds: [bob.id] });
    // Alice's own messages: none unread, so the chat opens at its newest message, the first one far above.
    const first = await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'p1', text: 'The meeting is on Friday' });
    for (let i = 0; i < 40; i++) await alice.client.sendMessage({ chatId: group.id, clientMessageId: `x${i}`, text: `chatter ${i}` });
    const second = await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'p2', text: 'Bring snacks' });
    await openChat(page, group.id, 'Pin board');
    const bar = page.getByRole('region', { name: 'Pinned messages' });

    await page.locator(`article.msg[data-key="${second.id}"]`).click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Pin', exact: true }).click();
    await bar.getByText('Bring snacks').waitFor();
    // A pin made on another device arrives live and, being the latest, shows first.
    await alice.client.pinMessage({ chatId: group.id, messageId: first.id });
    await bar.getByText('Pinned message 1 of 2').waitFor();
    await bar.getByText('The meeting is on Friday').waitFor();

    await bar.getByRole('button', { name: /Pinned message 1 of 2/ }).click();
    // The timeline scrolls to it (its bubble on screen, far above the newest).
    const target = page.locator(`article.msg[data-key="${first.id}"]`);
    await eventually(async () => {
      const box = await target.boundingBox();
      const list = await page.getByRole('log').boundingBox();
      expect(box && list && box.y >= list.y && box.y + box.height <= list.y + list.height).toBe(true);
    });
    await bar.getByText('Pinned message 2 of 2').waitFor();
    await bar.getByText('Bring snacks').waitFor();

    await bar.getByRole('button', { name: 'Unpin this message' }).click();
    await bar.getByText('Pinned message', { exact: true }).waitFor();
    await eventually(async () => expect((await bob.client.listPins({ chatId: group.id })).messages.map((x) => x.id)).toEqual([first.id]));
  });

  it('offers members for an @word, Enter puts in @username, and the one mentioned sees an @ in the chat list and the message highlighted', async () => {
    const page = browser.page;
    const group = await alice.client.createGroup({ title: 'Team room', memberIds: [bob.id, carol.id] });
    await openChat(page, group.id, 'Team room');
    const box = composer(page);
    const list = page.getByRole('listbox', { name: 'Mention a member' });
    await box.pressSequentially('@');
    await list.getByRole('option').first().waitFor();
    expect(await list.getByRole('option').count()).toBe(2);
    await box.press('Escape');
    await list.waitFor({ state: 'detached' });
    await box.fill('');

    await box.pressSequentially('Hello @b');
    expect(await list.getByRole('option').allTextContents()).toEqual(['Bob@bob']);
    await box.press('Enter');
    expect(await box.inputValue()).toBe('Hello @bob ');
    await box.pressSequentially('and @ca');
    await box.press('Tab');
    await box.pressSequentially('look');
    await box.press('Enter');
    await eventually(async () => {
      const last = (await bob.client.listMessages({ chatId: group.id })).messages.at(-1)!;
      expect([last.text, last.mentions]).toEqual(['Hello @bob and @carol look', [bob.id, carol.id]]);
    });

    const other = await openBrowser('bob', t.url);
    try {
      await signIn(other.page, bob);
      // The chat list's "@": an unread message there names him.
      await other.page.getByRole('link', { name: /^Team room\b.*, 1 unread, you were mentioned$/ }).waitFor();
      await openChat(other.page, group.id, 'Team room');
      await other.page.locator('article.msg.mentioned', { hasText: 'Hello @bob and @carol look' }).waitFor();
      // Not every message is highlighted for him: only those that mention him.
      await alice.client.sendMessage({ chatId: group.id, clientMessageId: 'n1', text: 'no names here' });
      await other.page.locator('article.msg', { hasText: 'no names here' }).waitFor();
      expect(await other.page.locator('article.msg.mentioned').count()).toBe(1);
    } finally {
      await other.close();
    }
  });
});
