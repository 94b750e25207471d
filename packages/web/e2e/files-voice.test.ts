import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer, type TestUser } from '@parley/test-kit';
import { browserAvailable, eventually, openBrowser, screenshot, type Browser } from './_browser.ts';
import { openChat, signIn } from './_files.ts';

if (process.env.CI === 'true' && !existsSync('/usr/bin/ffmpeg')) throw new Error('The voice-note tests must run under CI: ffmpeg is not installed');
const enabled = browserAvailable() && existsSync('/usr/bin/ffmpeg');

describe.skipIf(!enabled)('voice notes in the web client', () => {
  let t: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let a: Browser;
  let b: Browser;
  let chatId: string;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'parley-voice-'));
    // What the fake microphone hears: a tone that swells and fades, so the waveform has a shape.
    const wav = path.join(dir, 'voice.wav');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=6', '-af', 'volume=0.8,tremolo=f=1:d=0.9', '-ac', '1', wav]);
    t = await startTestServer('sqlite');
    [alice, bob] = await t.users('alice', 'bob');
    chatId = (await alice.client.createPrivateChat({ userId: bob.id })).id;
    const mic = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`];
    a = await openBrowser('alice', t.url, undefined, undefined, mic);
    b = await openBrowser('bob', t.url);
    await signIn(a.page, alice);
    await signIn(b.page, bob);
    await openChat(a.page, chatId, 'Bob');
    await openChat(b.page, chatId, 'Alice');
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('records a voice note from the microphone, sends it, and the other person plays it', async () => {
    await a.page.getByRole('button', { name: 'Record a voice note' }).click();
    await a.page.getByRole('timer', { name: 'Recorded time' }).waitFor();
    await a.page.waitForTimeout(2000);
    await a.page.getByRole('button', { name: 'Send the voice note' }).click();

    let att: NonNullable<Awaited<ReturnType<typeof bob.client.listMessages>>['messages'][number]['attachments']>[number] | undefined;
    await eventually(async () => {
      const { messages } = await bob.client.listMessages({ chatId });
      att = messages.at(-1)?.attachments?.[0];
      expect(att?.voice).toBe(true);
    }, 30_000);
    expect(att!.mimeType).toMatch(/^audio\//);
    expect(att!.durationMs).toBeGreaterThan(1200);
    expect(att!.durationMs).toBeLessThan(4000);
    expect(Buffer.from(att!.waveform!, 'base64').some((v) => v > 0)).toBe(true);

    // Bob's timeline shows a player, not a file row; playing moves its position on.
    const player = b.page.locator('article.msg .attachment-audio').last();
    await player.getByRole('button', { name: 'Play the voice note' }).click();
    await player.getByRole('button', { name: 'Pause the voice note' }).waitFor();
    const seek = player.getByRole('slider', { name: 'Seek in the voice note' });
    await eventually(async () => expect(Number(await seek.getAttribute('aria-valuenow'))).toBeGreaterThan(0), 10_000);
    await screenshot(b.page, '16-voice-note');
  });
});
