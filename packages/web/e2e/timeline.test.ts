import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ParleyRealtime, type WebSocketFactory } from '@parley/sdk';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, message, openBrowser, type Browser } from './_browser.ts';
import { openChat, send, signIn } from './_ux.ts';

const enabled = browserAvailable();

/** A fixed-offset time zone in which it is now between 9 and 10 in the morning. */
function zoneAtNine(): string {
  const offset = ((9 - new Date().getUTCHours() + 36) % 24) - 12;
  return offset >= 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

describe.skipIf(!enabled)('the timeline: times, last seen and replies', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let chatId: string;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_MESSAGE_RATE: '100000/1s' });
    [alice, bob] = await t.users('alice', 'bob');
    chatId = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    const original = await bob.client.sendMessage({ chatId, text: 'the very first word', clientMessageId: 'first' });
    for (let i = 1; i <= 130; i++) await bob.client.sendMessage({ chatId, text: `filler ${i}`, clientMessageId: `f${i}` });
    const reply = await alice.client.sendMessage({ chatId, text: 'answering the first', replyToId: original.id, clientMessageId: 'reply' });
    // Alice has read what she answered: the chat opens at the newest message.
    await alice.client.markRead({ chatId, seq: reply.seq });
    // Bob was online a moment ago.
    const rt = new ParleyRealtime(bob.client, { WebSocket: WebSocket as unknown as WebSocketFactory });
    await new Promise<void>((resolve) => {
      rt.on('state', (s) => s === 'online' && resolve());
      void rt.connect();
    });
    rt.close();
    browser = await openBrowser('alice', t.url);
    const cdp = await browser.context.newCDPSession(browser.page);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: zoneAtNine() });
    await signIn(browser.page, alice);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('writes times without a padded hour and last seen relative to now', async () => {
    const page = browser.page;
    await openChat(page, chatId, 'Bob');
    const time = (await message(page, 'answering the first').locator('time').textContent())!;
    expect(time).toMatch(/^9:\d\d\s?AM$/);
    await eventually(async () => expect(await page.locator('.pane-header .subtitle').textContent()).toBe('last seen just now'));
  });

  it('jumps to the original of a reply, loading it when it is not in the window, and highlights it', async () => {
    const page = browser.page;
    await openChat(page, chatId, 'Bob');
    const quote = message(page, 'answering the first').locator('.quote');
    expect(await quote.textContent()).toBe('Reply to an earlier message');
    await quote.click();
    const original = message(page, 'the very first word');
    await original.waitFor();
    await eventually(async () => expect(await original.getAttribute('class')).toContain('highlight'));
    expect(await original.evaluate((el) => document.activeElement === el)).toBe(true);
    // In view, not just in the DOM.
    const [box, list] = await Promise.all([original.boundingBox(), page.locator('.messages').boundingBox()]);
    expect(box!.y).toBeGreaterThanOrEqual(list!.y - 1);
    expect(box!.y + box!.height).toBeLessThanOrEqual(list!.y + list!.height + 1);
  });

  it('marks my message in a group read only when every other member has read it', async () => {
    const page = browser.page;
    const carol = await t.user('carol');
    const groupId = (await alice.client.createGroup({ title: 'Readers', memberIds: [bob.id, carol.id] })).id;
    await openChat(page, groupId, 'Readers');
    await send(page, 'did everyone see this');
    const status = message(page, 'did everyone see this').locator('[data-status]');
    await eventually(async () => expect(await status.getAttribute('data-status')).toBe('sent'));
    const seq = (await alice.client.listMessages({ chatId: groupId, limit: 1 })).messages[0]!.seq;
    await bob.client.markRead({ chatId: groupId, seq });
    await eventually(async () => expect(await status.ariaSnapshot()).toContain('Sent, read by 1 of 2'));
    expect(await status.getAttribute('data-status')).toBe('sent');
    await carol.client.markRead({ chatId: groupId, seq });
    await eventually(async () => expect(await status.getAttribute('data-status')).toBe('read'));
  });
});
