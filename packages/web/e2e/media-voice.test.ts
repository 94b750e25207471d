import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, eventually } from './_browser.ts';
import { ffmpeg, ffmpegAvailable, ffprobe, openMediaBrowser, startHarness, type Harness, type MediaBrowser } from './media-harness/_harness.ts';
import { writeFileSync } from 'node:fs';

const enabled = browserAvailable() && ffmpegAvailable();

describe.skipIf(!enabled)('voice notes in Chromium', () => {
  let harness: Harness;
  let browser: MediaBrowser;
  let noteMs = 0;

  beforeAll(async () => {
    harness = await startHarness();
    // The fake microphone plays a tone that swells and fades, so the waveform has shape.
    const wav = path.join(harness.fixtures, 'voice.wav');
    ffmpeg(['-f', 'lavfi', '-i', 'aevalsrc=0.7*sin(2*PI*440*t)*(0.5+0.5*sin(2*PI*1.5*t)):s=48000:d=8', '-ac', '1', '-c:a', 'pcm_s16le', wav]);
    browser = await openMediaBrowser(harness.url, { microphone: 'fake', audioFile: wav });
  });

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  it('records 2 s from the microphone into an Opus file with a duration, a waveform and a voice name', async () => {
    const asked = Date.now();
    await browser.call('startRecording');
    const started = Date.now();
    const levels: number[] = [];
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 200));
      levels.push((await browser.call('levels')).level);
    }
    // About 2 s, longer on a busy machine: the recording lasts from when it started to when it
    // was stopped, which the test knows only within the calls' round trips.
    const stopping = Date.now();
    const note = await browser.call('stopRecording');
    const stopped = Date.now();
    console.log(`voice note: ${note.durationMs} ms, ${note.size} B, waveform ${note.waveform}`);
    expect(Math.max(...levels)).toBeGreaterThan(0.05);
    expect(note.voice).toBe(true);
    expect(note.mimeType).toBe('audio/webm');
    expect(note.name).toMatch(/^voice-\d{4}-\d{2}-\d{2}-\d{4}\.webm$/);
    expect(note.durationMs!).toBeGreaterThanOrEqual(stopping - started - 250);
    expect(note.durationMs!).toBeLessThanOrEqual(stopped - asked + 250);
    noteMs = note.durationMs!;

    const bars = [...Buffer.from(note.waveform!, 'base64')];
    expect(bars.length).toBeGreaterThan(30);
    expect(bars.length).toBeLessThanOrEqual(64);
    expect(Math.max(...bars)).toBe(255);
    expect(Math.min(...bars)).toBeLessThan(200); // the swell shows: not one flat level

    const file = path.join(harness.fixtures, 'note.webm');
    writeFileSync(file, Buffer.from(note.base64, 'base64'));
    const probe = ffprobe(file);
    expect(probe.streams).toEqual([expect.objectContaining({ codec_type: 'audio', codec_name: 'opus', channels: 1 })]);
    expect(Math.abs(Number(probe.format.duration) - note.durationMs! / 1000)).toBeLessThanOrEqual(0.3);
    // ~32 kbit/s: 2 s is a few KB, not the 100+ KB of a default-bitrate recording.
    expect(note.size).toBeLessThan(16_000);
    expect((await browser.call('microphoneTracks')).every((t) => t.readyState === 'ended')).toBe(true);
  });

  it('plays the note in VoicePlayer: load() first, then play; the played part grows; seek and speed work', async () => {
    const { page } = browser;
    await browser.call('mountPlayer');
    const before = await browser.call('playerState');
    expect(before).toMatchObject({ hasSrc: false, loads: 0, played: 0, time: expect.stringMatching(/^0:00 \/ 0:0[1-4]$/) });
    expect(before.bars).toBeGreaterThan(30);

    await page.getByRole('button', { name: 'Play the voice note' }).click();
    await eventually(async () => expect(await browser.call('playerState')).toMatchObject({ hasSrc: true, paused: false, loads: 1 }));
    await eventually(async () => expect((await browser.call('playerState')).currentTime).toBeGreaterThan(0.3));
    const early = await browser.call('playerState');
    await new Promise((r) => setTimeout(r, 600));
    const later = await browser.call('playerState');
    expect(later.currentTime).toBeGreaterThan(early.currentTime);
    expect(later.played).toBeGreaterThan(early.played);
    expect(later.played).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Pause the voice note' }).click();
    await eventually(async () => expect((await browser.call('playerState')).paused).toBe(true));

    // Seek to three quarters by clicking the bars, then change the speed.
    const wave = page.getByRole('slider', { name: 'Seek in the voice note' });
    const box = (await wave.boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.75, box.y + box.height / 2);
    const sought = await browser.call('playerState');
    expect(sought.currentTime).toBeCloseTo((0.75 * noteMs) / 1000, 0);
    expect(sought.played / sought.bars).toBeGreaterThan(0.65);
    await page.getByRole('button', { name: 'Playback speed 1×' }).click();
    await page.getByRole('button', { name: 'Play the voice note' }).click();
    await eventually(async () => expect(await browser.call('playerState')).toMatchObject({ paused: false, playbackRate: 1.5 }));
    // Keyboard: Home goes back to the start.
    await wave.focus();
    await page.keyboard.press('Home');
    expect((await browser.call('playerState')).currentTime).toBeLessThan(0.3);
    // The row never changed height.
    expect(new Set([before.height, later.height, sought.height, (await browser.call('playerState')).height]).size).toBe(1);
    expect(before.height).toBeGreaterThan(0);
  });

  it('cancel throws the recording away and releases the microphone', async () => {
    const r = await browser.call('recordAndCancel', 500);
    expect(r.stopped).toBe('AbortError');
    expect((await browser.call('microphoneTracks')).every((t) => t.readyState === 'ended')).toBe(true);
  });

  it('VoiceRecordButton records and hands over a note; Escape cancels', async () => {
    const { page } = browser;
    await browser.call('mountRecordButton');
    await page.getByRole('button', { name: 'Record a voice note' }).click();
    await page.getByRole('timer', { name: 'Recorded time' }).waitFor();
    await eventually(async () => expect(await page.getByRole('timer').textContent()).toBe('0:01'));
    await page.getByRole('button', { name: 'Send the voice note' }).click();
    await eventually(async () => expect(await page.evaluate(() => (window as unknown as { recorded: unknown[] }).recorded.length)).toBe(1));
    const [note] = await page.evaluate(() => (window as unknown as { recorded: { voice: boolean; durationMs: number }[] }).recorded);
    expect(note.voice).toBe(true);
    expect(note.durationMs).toBeGreaterThan(900);
    // Focus is back on the microphone button; a new recording, then Escape.
    await page.keyboard.press('Enter');
    await page.getByRole('timer', { name: 'Recorded time' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Record a voice note' }).waitFor();
    await new Promise((r) => setTimeout(r, 300));
    expect(await page.evaluate(() => (window as unknown as { recorded: unknown[] }).recorded.length)).toBe(1);
    expect((await browser.call('microphoneTracks')).every((t) => t.readyState === 'ended')).toBe(true);
  });

  for (const [microphone, text] of [
    ['denied', /^Microphone access is blocked/],
    ['none', /^No microphone was found/],
  ] as const) {
    it(`VoiceRecordButton says so when the microphone is ${microphone === 'none' ? 'missing' : microphone}`, async () => {
      const other = await openMediaBrowser(harness.url, { microphone });
      try {
        await other.call('mountRecordButton');
        await other.page.getByRole('button', { name: 'Record a voice note' }).click();
        const alert = other.page.getByRole('alert');
        await alert.waitFor();
        expect(await alert.textContent()).toMatch(text);
        expect(await other.page.getByRole('button', { name: 'Record a voice note' }).isEnabled()).toBe(true);
      } finally {
        await other.close();
      }
    });
  }
});
