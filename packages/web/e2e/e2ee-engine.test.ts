import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { E2eeDevice } from '@parley/sdk/e2ee';
import { browserAvailable, eventually, openBrowser, type Browser } from './_browser.ts';
import type { parleyE2ee } from './_e2ee-page.ts';

// The SDK's E2EE engine in a real Chromium page: bundled by Vite from the SDK's sources, it sets up the page's
// session as a device against a real server and exchanges encrypted messages with a device in Node. Each side
// reads the other's text; the server's files hold none of it.

const enabled = browserAvailable();

/** ts-mls's optional cipher suites import packages Parley does not install; suite 1 never loads them. */
const OPTIONAL = /^@hpke\/(chacha20poly1305|dhkem-x448|hybridkem-x-wing|ml-kem)$|^@noble\/(curves|post-quantum)\//;

/** Every file under a directory, as one latin1 string. */
function filesUnder(dir: string): string {
  let all = '';
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    all += statSync(p).isDirectory() ? filesUnder(p) : readFileSync(p).toString('latin1');
  }
  return all;
}

type PageApi = typeof parleyE2ee;

describe.skipIf(!enabled)('the E2EE engine in Chromium', () => {
  let t: TestServer;
  let bob: TestUser;
  let browser: Browser;
  let bundleDir: string;

  beforeAll(async () => {
    bundleDir = mkdtempSync(path.join(tmpdir(), 'parley-e2ee-bundle-'));
    await build({
      configFile: false,
      logLevel: 'warn',
      build: {
        outDir: bundleDir,
        emptyOutDir: true,
        target: 'es2022',
        minify: false,
        lib: { entry: fileURLToPath(new URL('./_e2ee-page.ts', import.meta.url)), formats: ['es'], fileName: 'engine' },
        rolldownOptions: { external: (id: string) => OPTIONAL.test(id) },
      },
    });
    t = await startTestServer('sqlite', { PARLEY_WRITE_RATE: '100000/10s', PARLEY_MESSAGE_RATE: '100000/10s' });
    bob = await t.user('bob');
    browser = await openBrowser('alice', t.url);
    // The page and its module come from the server's origin (a secure context on 127.0.0.1); the API is the real server's.
    await browser.context.route(`${t.url}/e2ee-test/**`, async (route) => {
      const name = new URL(route.request().url()).pathname.slice('/e2ee-test/'.length);
      if (name === 'index.html') {
        return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>E2EE engine</title><script type="module" src="engine.js"></script>' });
      }
      const file = path.resolve(bundleDir, name);
      if (!file.startsWith(bundleDir + path.sep) || !existsSync(file)) return route.fulfill({ status: 404 });
      return route.fulfill({ contentType: 'text/javascript', body: readFileSync(file) });
    });
    await browser.page.goto(`${t.url}/e2ee-test/index.html`);
    await browser.page.waitForFunction(() => 'parleyE2ee' in globalThis);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (bundleDir) rmSync(bundleDir, { recursive: true, force: true });
  });

  /** Calls the page's engine. */
  function inPage<K extends keyof PageApi>(name: K, ...args: Parameters<PageApi[K]>): Promise<Awaited<ReturnType<PageApi[K]>>> {
    return browser.page.evaluate(
      ([n, a]) => {
        const api = (globalThis as unknown as { parleyE2ee: Record<string, (...x: unknown[]) => unknown> }).parleyE2ee;
        return api[n as string]!(...(a as unknown[]));
      },
      [name, args] as const,
    ) as Promise<Awaited<ReturnType<PageApi[K]>>>;
  }

  it('a device in the page and one in Node read each other\u2019s encrypted messages; the server holds no plaintext', async () => {
    const password = 'pw-alice-in-chromium';
    const alice = await inPage('setUp', { inviteCode: await t.invite(), username: 'alice', password });
    expect(alice.userAgent).toContain('Chrome');
    const b1 = await E2eeDevice.setUp(bob.client);

    // The page makes the chat's group, with Bob's device in it.
    const chat = await bob.client.createPrivateChat({ userId: alice.userId });
    expect(await inPage('start', chat.id)).toBe(2);
    await b1.sync();
    expect(
      b1
        .chat(chat.id)
        .group?.members()
        .map((m) => m.deviceId)
        .sort(),
    ).toEqual([alice.deviceId, b1.deviceId].sort());

    const canary = () => `canary-${randomBytes(8).toString('hex')}`;
    const fromPage = `from chromium ${canary()}`;
    const fromNode = `from node ${canary()}`;
    expect(await inPage('send', chat.id, fromPage)).toMatchObject({ kind: 'mls' });
    await b1.sync();
    expect(
      b1
        .chat(chat.id)
        .timeline()
        .map((m) => [m.text, m.senderDeviceId]),
    ).toEqual([[fromPage, alice.deviceId]]);

    await b1.chat(chat.id).send(fromNode);
    await eventually(async () => {
      await inPage('sync');
      expect(await inPage('timeline', chat.id)).toEqual([
        { text: fromPage, senderDeviceId: alice.deviceId },
        { text: fromNode, senderDeviceId: b1.deviceId },
      ]);
    });

    // The server hands out ciphertext only, and its files (the database and its WAL) hold neither text.
    const page = await bob.client.listMessages({ chatId: chat.id });
    expect(page.messages.map((m) => [m.kind, m.text])).toEqual([
      ['mls', ''],
      ['mls', ''],
    ]);
    const stored = filesUnder(t.store.env.PARLEY_DATA_DIR!);
    for (const text of [fromPage, fromNode]) expect(stored).not.toContain(text.split(' ').at(-1));
    // The control: the same scan finds a message sent in a plaintext chat.
    const control = canary();
    const carol = await t.user('carol');
    const plain = await bob.client.createPrivateChat({ userId: carol.id });
    await bob.client.sendMessage({ chatId: plain.id, clientMessageId: 'control', text: control });
    expect(filesUnder(t.store.env.PARLEY_DATA_DIR!)).toContain(control);
  });
});
