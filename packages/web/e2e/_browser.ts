import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
// Debian's Chromium in a container: no sandbox, no GPU, nothing phoning home.
export const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export const SCREENSHOTS = fileURLToPath(new URL('../test-results/screenshots/', import.meta.url));

/** Whether the browser suite can run; under CI a missing browser is an error, elsewhere a skip with the reason. */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const reason = `${CHROMIUM} is missing (apt-get install -y chromium)`;
  if (process.env.CI === 'true') throw new Error(`The browser suite cannot run under CI: ${reason}`);
  console.warn(`Skipping the browser suite: ${reason}`);
  return false;
}

export interface Browser {
  name: string;
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** One person's browser: its own profile in a fresh temp dir, so storage is never shared. */
export async function openBrowser(
  name: string,
  baseUrl: string,
  viewport = { width: 1200, height: 800 },
  colorScheme: 'light' | 'dark' = 'light',
  /** more Chromium switches, e.g. a fake microphone */
  extraArgs: string[] = [],
): Promise<Browser> {
  const dir = mkdtempSync(path.join(tmpdir(), `parley-${name}-`));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    args: [...ARGS, ...extraArgs],
    headless: true,
    viewport,
    colorScheme,
    baseURL: baseUrl,
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (d) => void d.accept());
  page.on('pageerror', (err) => console.error(`[${name}] page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/Failed to load resource|ERR_INTERNET_DISCONNECTED|WebSocket/.test(msg.text()))
      console.error(`[${name}] console: ${msg.text()}`);
  });
  return {
    name,
    context,
    page,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** Messages in the open chat with this text. */
export function message(page: Page, text: string): Locator {
  return page.locator('article.msg').filter({ has: page.locator(':scope > .text', { hasText: text }) });
}

/** Polls until `check` passes (playwright-core has no auto-retrying assertions). */
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
