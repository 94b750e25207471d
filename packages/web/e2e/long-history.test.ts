import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startTestServer, type TestServer } from '@parley/test-kit';
import { browserAvailable, openBrowser, screenshot, type Browser } from './_browser.ts';

const COUNT = 10_000;
const enabled = browserAvailable();

/** The sequence numbers of the message rows in the DOM. */
function renderedSeqs(page: Page): Promise<number[]> {
  return page.locator('article.msg[data-seq]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-seq'))));
}

/** The first message whose bottom is below the top of the list: what the reader sees first. */
function topVisibleSeq(page: Page): Promise<number> {
  return page.evaluate(() => {
    const list = document.querySelector('.messages')!.getBoundingClientRect();
    const rows = Array.from(document.querySelectorAll('article.msg[data-seq]')).filter((e) => e.getBoundingClientRect().bottom > list.top + 1);
    rows.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
    return Number(rows[0]?.getAttribute('data-seq'));
  });
}

describe.skipIf(!enabled)('a chat with 10 000 messages', () => {
  let t: TestServer;
  let reader: Browser;
  let chatId: string;

  beforeAll(async () => {
    t = await startTestServer('sqlite', { PARLEY_MESSAGE_RATE: '1000000/1s' });
    const writer = await t.user('writer');
    const me = await t.user('reader');
    chatId = (await writer.client.createPrivateChat({ userId: me.id })).id;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < COUNT) {
          const i = next++;
          await writer.client.sendMessage({ chatId, text: `Message number ${i + 1}`, clientMessageId: `seed-${i}` });
        }
      }),
    );
    // The reader has read it all (another device): the chat opens at the newest message, not at the first unread one.
    const { chats } = await me.client.listChats();
    await me.client.markRead({ chatId, seq: chats.find((c) => c.id === chatId)!.lastSeq });
    reader = await openBrowser('reader', t.url);
    await reader.page.goto('/#/login');
    await reader.page.getByLabel('Username').fill('reader');
    await reader.page.getByLabel('Password').fill(me.password);
    await reader.page.getByRole('button', { name: 'Sign in' }).click();
    await reader.page.getByRole('list', { name: 'Chats' }).waitFor();
  });

  afterAll(async () => {
    await reader?.close();
    await t?.close();
  });

  it('opens at the newest message and renders only the rows in view', async () => {
    const page = reader.page;
    await page.getByRole('list', { name: 'Chats' }).locator('a.chat-row', { hasText: 'Writer' }).click();
    await page.locator('article.msg', { hasText: `Message number ${COUNT}` }).waitFor();
    const seqs = await renderedSeqs(page);
    expect(seqs.length).toBeGreaterThan(5);
    expect(seqs.length).toBeLessThan(60);
    await screenshot(page, '20-long-chat');
  });

  it('loads older messages while scrolling up, keeping the reader in place', async () => {
    const page = reader.page;
    const list = page.locator('.messages');
    await list.hover();
    for (let i = 0; i < 12; i++) {
      await page.mouse.wheel(0, -1500);
      await page.waitForTimeout(150);
    }
    await page.waitForFunction(() => !document.querySelector('.loading-more'));
    const top = await topVisibleSeq(page);
    expect(top).toBeLessThan(COUNT - 100);
    // Scrolling produced no jump: the rows in view are still a short contiguous run.
    const seqs = await renderedSeqs(page);
    expect(seqs.length).toBeLessThan(60);
    expect(Math.max(...seqs) - Math.min(...seqs)).toBe(seqs.length - 1);
  });

  it('comes back to the same place after a reload, and scrolls down to the newest again', async () => {
    const page = reader.page;
    await page.waitForTimeout(400); // the position is saved a moment after scrolling stops
    const before = await topVisibleSeq(page);
    await page.reload();
    await page.locator(`article.msg[data-seq="${before}"]`).waitFor();
    const after = await topVisibleSeq(page);
    expect(Math.abs(after - before)).toBeLessThanOrEqual(1);

    const list = page.locator('.messages');
    await list.hover();
    for (let i = 0; i < 40 && (await page.locator('article.msg', { hasText: `Message number ${COUNT}` }).count()) === 0; i++) {
      await page.mouse.wheel(0, 3000);
      await page.waitForTimeout(120);
    }
    await page.locator('article.msg', { hasText: `Message number ${COUNT}` }).waitFor();
  });
});
