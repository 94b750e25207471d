import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, screenshot, type Browser } from './_browser.ts';
import { attach, download, openChat, sendCaption, sha256, signIn, waitForMessage } from './_files.ts';

if (process.env.CI === 'true' && !existsSync('/usr/bin/ffmpeg')) throw new Error('The video tests must run under CI: ffmpeg is not installed');
const enabled = browserAvailable() && existsSync('/usr/bin/ffmpeg');

describe.skipIf(!enabled)('videos in the web client', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let a: Browser;
  let chatId: string;
  let dir: string;
  let clip: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-video-'));
    clip = path.join(dir, 'clip.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '2', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', clip]);
    t = await startTestServer('sqlite');
    const csp = (await fetch(`${t.url}/`, { headers: { accept: 'text/html' } })).headers.get('content-security-policy') ?? '';
    // The page may load media from object URLs: without it no <video> can play a download.
    expect(csp).toMatch(/(^|;)\s*media-src[^;]*\bblob:/);
    [alice, bob] = await t.users('alice', 'bob');
    chatId = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    a = await openBrowser('alice', t.url);
    await signIn(a.page, alice);
    await openChat(a.page, chatId, 'Bob');
  });

  afterAll(async () => {
    await a?.close();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends a video with its size, duration and poster, shows it at its final size, and plays it in the viewer', async () => {
    const page = a.page;
    await attach(page, clip);
    expect(await page.getByLabel('How to send clip.mp4').inputValue()).toBe('compressed');
    await sendCaption(page, 'a clip');
    const m = await waitForMessage(bob.client, chatId, 'a clip');
    const att = m.attachments![0]!;
    expect(att).toMatchObject({ name: 'clip.mp4', mimeType: 'video/mp4', width: 640, height: 360 });
    expect(Math.abs(att.durationMs! - 2000)).toBeLessThan(100);
    expect(att.thumbhash).toBeTruthy();
    expect(att.thumbnail!.length).toBeLessThanOrEqual(4096);

    const tile = page.locator('article.msg').filter({ hasText: 'a clip' }).locator('.media-tile.video');
    await tile.waitFor();
    const box = (await tile.boundingBox())!;
    expect([Math.round(box.width), Math.round(box.height)]).toEqual([320, 180]);
    expect(await tile.locator('.play').count()).toBe(1);
    await tile.click();
    const video = page.getByRole('dialog').locator('video');
    await video.waitFor();
    await eventually(async () => expect(await video.evaluate((v: HTMLVideoElement) => v.readyState >= 2 && v.currentTime > 0)).toBe(true));
    await screenshot(page, 'files-video-viewer');
    await page.keyboard.press('Escape');
  });

  it('a large video sent compressed is transcoded on the device: smaller, at most 1280 px, H.264 or VP9 by ffprobe; "Original file" keeps its bytes', async () => {
    const page = a.page;
    const big = path.join(dir, 'big.mp4');
    // 1920×1080 at a steady 6 Mbit/s: too big to be sent as it is.
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=1920x1080:rate=30',
      '-t',
      '3',
      '-pix_fmt',
      'yuv420p',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-b:v',
      '6M',
      '-minrate',
      '6M',
      '-maxrate',
      '6M',
      '-bufsize',
      '6M',
      big,
    ]);
    const original = readFileSync(big);
    await attach(page, big);
    await sendCaption(page, 'a big clip');
    const m = await waitForMessage(bob.client, chatId, 'a big clip', 120_000);
    const att = m.attachments![0]!;
    expect(Math.max(att.width!, att.height!)).toBeLessThanOrEqual(1280);
    expect(att.size).toBeLessThan(original.length / 2);
    expect(Math.abs(att.durationMs! - 3000)).toBeLessThan(300);
    const sent = await download(bob.client, att.fileId);
    const sentFile = path.join(dir, 'sent.mp4');
    writeFileSync(sentFile, sent);
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', sentFile]).toString()) as {
      streams: { codec_type: string; codec_name: string; width?: number }[];
    };
    const stream = probe.streams.find((x) => x.codec_type === 'video')!;
    expect(['h264', 'vp9']).toContain(stream.codec_name);
    expect(stream.width).toBeLessThanOrEqual(1280);

    await attach(page, big);
    await page.getByLabel('How to send big.mp4').selectOption('original');
    await sendCaption(page, 'the big clip as it is');
    const kept = (await waitForMessage(bob.client, chatId, 'the big clip as it is', 60_000)).attachments![0]!;
    expect(sha256(await download(bob.client, kept.fileId))).toBe(sha256(original));
  });
});
