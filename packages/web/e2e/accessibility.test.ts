import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import type { AxeResults, Result } from 'axe-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, message, openBrowser, type Browser } from './_browser.ts';
import { chatRow, openChat, send, signIn } from './_ux.ts';

const enabled = browserAvailable();
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's checks on the page as it is; the page's CSP does not apply to code run through the debugger protocol. */
async function audit(page: Page): Promise<Result[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  // Colours are checked once transitions (a row's background fading on a switch) have ended.
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => {}))));
  const results = (await page.evaluate(() =>
    (window as unknown as { axe: { run(o: object): Promise<AxeResults> } }).axe.run({ resultTypes: ['violations'] }),
  )) as AxeResults;
  return results.violations;
}

const describeViolation = (v: Result) =>
  `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => `${n.target.join(' ')}${n.failureSummary ? ` - ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`).join('; ')})`;

describe.skipIf(!enabled).each([
  { width: 1200, height: 800, scheme: 'light' as const },
  { width: 360, height: 740, scheme: 'dark' as const },
  { width: 360, height: 740, scheme: 'light' as const },
  { width: 1200, height: 800, scheme: 'dark' as const },
])('axe-core at $width px, $scheme', ({ width, height, scheme }) => {
  let t: TestServer;
  let ann: TestUser;
  let bob: TestUser;
  let browser: Browser;
  let chatId: string;
  let groupId: string;
  const found: string[] = [];

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    [ann, bob] = await t.users('ann', 'bob');
    chatId = (await ann.client.createPrivateChat({ userId: bob.id })).id;
    groupId = (await ann.client.createGroup({ title: 'Climbing', memberIds: [bob.id] })).id;
    await bob.client.sendMessage({ chatId, clientMessageId: 'a11y-1', text: 'Are you coming on Saturday?' });
    browser = await openBrowser(`a11y-${width}-${scheme}`, t.url, { width, height }, scheme);
  });

  afterAll(async () => {
    if (found.length) console.log(`axe-core at ${width} px ${scheme}, not serious:\n  ${[...new Set(found)].join('\n  ')}`);
    await browser?.close();
    await t?.close();
  });

  /** Fails on serious and critical violations; the rest is printed. */
  async function check(where: string) {
    const violations = await audit(browser.page);
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    found.push(...violations.filter((v) => !serious.includes(v)).map((v) => `${where}: ${describeViolation(v)}`));
    expect(serious.map(describeViolation), where).toEqual([]);
  }

  it('has no serious violation on the sign-in and register pages', async () => {
    await browser.page.goto('/#/login');
    await browser.page.getByRole('button', { name: 'Sign in' }).waitFor();
    await check('sign in');
    await browser.page.goto('/#/register');
    await browser.page.getByRole('button', { name: 'Create account' }).waitFor();
    await check('register');
  });

  it('has no serious violation in the chat list, a chat with messages, and the group info', async () => {
    const page = browser.page;
    await signIn(page, ann);
    await chatRow(page, 'Bob').waitFor();
    await check('chat list');
    await openChat(page, chatId, 'Bob');
    await send(page, 'Yes, at nine');
    await message(page, 'Yes, at nine').waitFor();
    await message(page, 'Are you coming on Saturday?').waitFor();
    await check('private chat');
    await page.goto(`/#/chat/${encodeURIComponent(groupId)}/info`);
    await page.getByRole('heading', { name: 'Climbing' }).first().waitFor();
    await check('group info');
  });

  it('has no serious violation on the settings pages', async () => {
    const page = browser.page;
    for (const [hash, name] of [
      ['#/new', 'new chat'],
      ['#/sessions', 'devices'],
      ['#/profile', 'profile'],
      ['#/invites', 'invites'],
    ]) {
      await page.goto(`/${hash}`);
      await page.locator('main .pane').first().waitFor();
      await page.waitForLoadState('networkidle');
      await check(name!);
    }
  });
});
