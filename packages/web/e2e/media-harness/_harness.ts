// The media test page for the browser suite: builds entry.ts with Vite into a temp dir, serves it and
// the test's media files from node:http on 127.0.0.1, and opens Chromium with a fake microphone.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import preact from '@preact/preset-vite';
import { ARGS as BROWSER_ARGS } from '../_browser.ts';
import { build } from 'vite';
import { CHROMIUM } from '../_browser.ts';
import type { MediaHarness } from './entry.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
// The suite's usual flags (_browser.ts), plus what lets a page play and record without a gesture or a prompt.
const ARGS = [...BROWSER_ARGS, '--autoplay-policy=no-user-gesture-required'];

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.wav': 'audio/wav',
  '.txt': 'text/plain; charset=utf-8',
};

export interface Chunk {
  file: string;
  bytes: number;
  gzipBytes: number;
  /** Whether the chunk holds mediabunny (one of its error messages is in it) */
  mediabunny: boolean;
  entry: boolean;
}

export interface Harness {
  url: string;
  /** Files placed here are served at `${url}/fixtures/<name>` */
  fixtures: string;
  chunks: Chunk[];
  close(): Promise<void>;
}

/** Builds the harness page and serves it. */
export async function startHarness(): Promise<Harness> {
  const root = mkdtempSync(path.join(tmpdir(), 'parley-media-'));
  const outDir = path.join(root, 'dist');
  const fixtures = path.join(root, 'fixtures');
  await build({
    root: HERE,
    configFile: false,
    logLevel: 'warn',
    plugins: [preact()],
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      reportCompressedSize: false,
      chunkSizeWarningLimit: 1024,
    },
  });
  const html = readFileSync(path.join(outDir, 'index.html'), 'utf8');
  const assets = path.join(outDir, 'assets');
  const chunks = readdirSync(assets)
    .filter((f) => f.endsWith('.js'))
    .map((file) => {
      const code = readFileSync(path.join(assets, file));
      return {
        file,
        bytes: code.length,
        gzipBytes: gzipSync(code, { level: 9 }).length,
        mediabunny: code.includes('options.video.forceTranscode, when provided'),
        entry: html.includes(`/assets/${file}`),
      };
    });

  const server: Server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const file =
      pathname === '/'
        ? path.join(outDir, 'index.html')
        : pathname.startsWith('/fixtures/')
          ? path.join(fixtures, path.basename(pathname))
          : path.join(outDir, path.normalize(pathname).replace(/^(\.\.[/\\])+/, ''));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  mkdirSync(fixtures, { recursive: true });
  return {
    url: `http://127.0.0.1:${port}`,
    fixtures,
    chunks,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface MediaBrowser {
  context: BrowserContext;
  page: Page;
  /** Calls `window.media[name](...args)` in the page */
  /** A fresh page: nothing loaded, nothing remembered (mediabunny memoises what the encoders support) */
  reload(): Promise<void>;
  call<K extends keyof MediaHarness>(name: K, ...args: Parameters<MediaHarness[K]>): Promise<Awaited<ReturnType<MediaHarness[K]>>>;
  close(): Promise<void>;
}

/**
 * Chromium on the harness page. `microphone`: 'fake' grants a fake device (fed from `audioFile` when given),
 * 'denied' leaves the permission prompt to be refused (headless dismisses it), 'none' grants access to no device.
 */
export async function openMediaBrowser(url: string, o: { microphone: 'fake' | 'denied' | 'none'; audioFile?: string }): Promise<MediaBrowser> {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-media-browser-'));
  const args = [...ARGS];
  if (o.microphone !== 'none') args.push('--use-fake-device-for-media-stream');
  if (o.microphone !== 'denied') args.push('--use-fake-ui-for-media-stream');
  if (o.audioFile) args.push(`--use-file-for-fake-audio-capture=${o.audioFile}`);
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args, headless: true, viewport: { width: 900, height: 600 } });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => console.error(`[media] page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') console.error(`[media] console ${msg.type()}: ${msg.text()}`);
  });
  const load = async () => {
    await page.goto(url);
    await page.waitForFunction(() => 'media' in window);
  };
  await load();
  return {
    context,
    page,
    reload: load,
    call: (name, ...args) =>
      page.evaluate(([n, a]) => (window as unknown as { media: Record<string, (...x: unknown[]) => unknown> }).media[n as string](...(a as unknown[])), [
        name,
        args,
      ] as const) as never,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs ffmpeg (quietly); throws with its output when it fails. */
export function ffmpeg(args: string[]): void {
  const run = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${run.stderr}`);
}

export interface Probe {
  streams: { codec_type: string; codec_name: string; width?: number; height?: number; channels?: number }[];
  format: { duration?: string; format_name: string };
}

export function ffprobe(file: string): Probe {
  const run = spawnSync(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height,channels:format=duration,format_name', '-of', 'json', file],
    {
      encoding: 'utf8',
    },
  );
  if (run.status !== 0) throw new Error(`ffprobe ${file} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Probe;
}

/** Whether ffmpeg is here; under CI its absence is an error, elsewhere a skip with the reason. */
export function ffmpegAvailable(): boolean {
  const ok = spawnSync('ffmpeg', ['-version']).status === 0 && spawnSync('ffprobe', ['-version']).status === 0;
  if (ok) return true;
  const reason = 'ffmpeg is missing (apt-get install -y ffmpeg)';
  if (process.env.CI === 'true') throw new Error(`The media tests cannot run under CI: ${reason}`);
  console.warn(`Skipping the media tests: ${reason}`);
  return false;
}
