import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, openBrowser, type Browser } from './_browser.ts';
import { chatRow, signIn } from './_ux.ts';

const enabled = browserAvailable();
const DIST = fileURLToPath(new URL('../dist', import.meta.url));
/** The first page's JavaScript, gzipped, in kB of 1000 bytes as `vite build` reports it. */
const BUDGET_KB = 70;

describe.skipIf(!enabled)("the first page's JavaScript", () => {
  let t: TestServer;
  let ann: TestUser;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer('sqlite');
    ann = await t.user('ann');
    const bob = await t.user('bob');
    await ann.client.createPrivateChat({ userId: bob.id });
    browser = await openBrowser('ann', t.url);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Every script the page has loaded so far, as paths under dist/. */
  const scripts = () =>
    browser.page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .map((e) => new URL(e.name).pathname)
        .concat(Array.from(document.scripts, (s) => new URL(s.src, location.href).pathname))
        .filter((p, i, all) => p.endsWith('.js') && all.indexOf(p) === i),
    );
  const gzippedKb = (paths: string[]) => paths.reduce((sum, p) => sum + gzipSync(readFileSync(DIST + p), { level: 9 }).length, 0) / 1000;

  it(`stays under ${BUDGET_KB} kB gzipped, signed in with the chat list shown, and the uploader is not part of it`, async () => {
    const page = browser.page;
    await signIn(page, ann);
    await chatRow(page, 'Bob').waitFor();
    await page.waitForLoadState('networkidle');
    const loaded = await scripts();
    const kb = gzippedKb(loaded);
    console.log(`first page: ${loaded.length} scripts, ${kb.toFixed(1)} kB gzipped (${loaded.join(', ')})`);
    expect(loaded.some((p) => /\/assets\/index-[\w-]+\.js$/.test(p))).toBe(true);
    expect(kb).toBeLessThan(BUDGET_KB);
    // tus-js-client is its own chunk, fetched when a file is first sent; the API's schemas stay on the server.
    const bundled = loaded.map((p) => readFileSync(DIST + p, 'utf8')).join('\n');
    expect(bundled).not.toContain('tus: no file or stream to upload provided');
    expect(bundled).not.toContain('a deleted one stays as a tombstone');
  });
});
