import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, type Browser } from './_browser.ts';
import { openChat, signIn } from './_ux.ts';

const enabled = browserAvailable();

describe.skipIf(!enabled)('reactions', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    [alice, bob] = await t.users('alice', 'bob');
    browser = await openBrowser('alice', t.url);
    await signIn(browser.page, alice);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('reacts from the message menu, shows others’ reactions live, and a click on a reaction joins or leaves it', async () => {
    const page = browser.page;
    const chat = await alice.client.createPrivateChat({ userId: bob.id });
    const m = await bob.client.sendMessage({ chatId: chat.id, clientMessageId: 'r1', text: 'Lunch at noon?' });
    await openChat(page, chat.id, 'Bob');
    const bubble = page.locator(`article.msg[data-key="${m.id}"]`);
    await bubble.waitFor();

    await bubble.click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'React 👍' }).click();
    const thumbs = bubble.getByRole('button', { name: '👍 1' });
    await thumbs.waitFor();
    expect(await thumbs.getAttribute('aria-pressed')).toBe('true');
    await eventually(async () => {
      const seen = (await bob.client.listMessages({ chatId: chat.id })).messages.find((x) => x.id === m.id)!;
      expect(seen.reactions).toEqual([{ emoji: '👍', count: 1, userIds: [alice.id] }]);
    });

    // Bob's reaction arrives over the socket.
    await bob.client.addReaction({ chatId: chat.id, messageId: m.id, emoji: '🎉' });
    const party = bubble.getByRole('button', { name: '🎉 1' });
    await party.waitFor();
    expect(await party.getAttribute('aria-pressed')).toBe('false');
    await party.click();
    await bubble.getByRole('button', { name: '🎉 2' }).waitFor();
    await thumbs.click();
    await thumbs.waitFor({ state: 'detached' });
    const final = (await bob.client.listMessages({ chatId: chat.id })).messages.find((x) => x.id === m.id)!;
    expect(final.reactions).toEqual([{ emoji: '🎉', count: 2, userIds: [bob.id, alice.id] }]);
  });
});
