import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable } from './_browser.ts';
import { ffmpeg, ffmpegAvailable, ffprobe, openMediaBrowser, startHarness, type Harness, type MediaBrowser } from './media-harness/_harness.ts';

const enabled = browserAvailable() && ffmpegAvailable();
const LOCATION = '+48.8584+002.2945/';
const TITLE = 'Shot at the Eiffel Tower';
/** x264 writes its settings into the stream (an SEI message): present when the video was copied, absent when re-encoded. */
const X264_SEI = 'x264 - core';

/** The output file on disk, for ffprobe. */
function save(harness: Harness, name: string, base64: string): { file: string; bytes: Buffer } {
  const file = path.join(harness.fixtures, name);
  const bytes = Buffer.from(base64, 'base64');
  writeFileSync(file, bytes);
  return { file, bytes };
}

describe.skipIf(!enabled)('video compression in Chromium', () => {
  let harness: Harness;
  let browser: MediaBrowser;

  beforeAll(async () => {
    harness = await startHarness();
    const at = (name: string) => path.join(harness.fixtures, name);
    const args = (line: string) => line.split(' ');
    // 3 s 720p clips with AAC audio and a location and a title tag (as phones write them): one at a phone's bitrate
    // (constant, or the test pattern would compress to almost nothing), one small enough to copy as it is.
    const clip = args('-f lavfi -i testsrc=size=1280x720:rate=30 -f lavfi -i sine=frequency=440 -t 3 -c:v libx264 -preset veryfast -c:a aac');
    const tags = ['-metadata', `location=${LOCATION}`, '-metadata', `title=${TITLE}`, ...args('-movflags +use_metadata_tags')];
    ffmpeg([...clip, ...args('-b:v 4M -minrate 4M -maxrate 4M -bufsize 2M -x264-params nal-hrd=cbr'), ...tags, at('in.mp4')]);
    ffmpeg([...clip, ...tags, at('small.mp4')]);
    // A portrait 1080p clip to scale down; a phone's portrait video (landscape frames with a rotation in the track
    // header); and a 10 s clip long enough to cancel midway.
    ffmpeg([...args('-f lavfi -i testsrc2=size=1080x1920:rate=30 -t 2 -c:v libx264 -preset ultrafast'), at('portrait.mp4')]);
    ffmpeg([...args('-f lavfi -i testsrc2=size=1920x1080:rate=30 -t 2 -c:v libx264 -preset ultrafast'), at('landscape.mp4')]);
    ffmpeg(['-i', at('landscape.mp4'), ...args('-c copy -metadata:s:v:0 rotate=90'), at('rotated.mp4')]);
    ffmpeg([
      ...args('-f lavfi -i testsrc2=size=1920x1080:rate=30 -f lavfi -i sine=frequency=330 -t 10 -c:v libx264 -preset ultrafast -c:a aac'),
      at('long.mp4'),
    ]);
    browser = await openMediaBrowser(harness.url, { microphone: 'fake' });
  });

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  });

  it('keeps mediabunny out of the entry chunk: the build emits it as a chunk of its own', () => {
    const entry = harness.chunks.filter((c) => c.entry);
    const lazy = harness.chunks.filter((c) => c.mediabunny);
    console.log(
      `harness chunks: ${harness.chunks.map((c) => `${c.file} ${c.bytes} B (${c.gzipBytes} B gz)${c.entry ? ' entry' : ''}${c.mediabunny ? ' mediabunny' : ''}`).join(', ')}`,
    );
    expect(entry).toHaveLength(1);
    expect(entry[0].mediabunny).toBe(false);
    expect(lazy.length).toBeGreaterThan(0);
    expect(lazy.every((c) => !c.entry)).toBe(true);
  });

  it('transcodes a 3 s 720p clip to H.264 MP4 within 1280 px at ~1.5 Mbit/s that plays, with its poster previews', async () => {
    const { ms, progress, inputSize, result } = await browser.call('transcode', `${harness.url}/fixtures/in.mp4`, 'holiday clip.mov');
    console.log(`transcode of the 3 s clip: ${Math.round(ms)} ms, ${inputSize} B → ${result.size} B, ${result.width}×${result.height}`);
    expect(result.name).toBe('holiday clip.mp4');
    expect(result.mimeType).toBe('video/mp4');
    expect(Math.max(result.width!, result.height!)).toBeLessThanOrEqual(1280);
    expect(result.width! / result.height!).toBeCloseTo(16 / 9, 1);
    expect(Math.abs(result.durationMs! - 3000)).toBeLessThanOrEqual(300);
    expect(result.thumbhash).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(result.thumbhash!.length).toBeLessThanOrEqual(64);
    expect(result.thumbnail).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(result.thumbnail!.length).toBeLessThanOrEqual(4096);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toBe(1);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);

    const { file: out, bytes } = save(harness, 'out.mp4', result.base64);
    expect(bytes.includes(X264_SEI)).toBe(false); // re-encoded in the browser
    expect(bytes.includes(LOCATION)).toBe(false);
    expect(bytes.includes(TITLE)).toBe(false);
    expect(result.size).toBeLessThan(inputSize * 0.6); // 4 Mbit/s in, ~1.5 Mbit/s out
    const probe = ffprobe(out);
    const video = probe.streams.find((s) => s.codec_type === 'video')!;
    expect(['h264', 'vp9']).toContain(video.codec_name);
    expect(Math.max(video.width!, video.height!)).toBeLessThanOrEqual(1280);
    expect(probe.streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac'); // copied, not re-encoded
    expect(Math.abs(Number(probe.format.duration) - 3)).toBeLessThanOrEqual(0.3);
    // The thumbnail is a real image (WebP or JPEG).
    const thumb = Buffer.from(result.thumbnail!, 'base64');
    expect(thumb.subarray(8, 12).toString('latin1') === 'WEBP' || thumb[0] === 0xff).toBe(true);

    const played = await browser.call('playLastVideo', 1500);
    expect(played.error).toBeNull();
    expect(played.currentTime).toBeGreaterThan(0.5);
    expect(played.videoWidth).toBe(video.width);
  });

  it('copies the video of a small H.264 clip within 1280 px instead of re-encoding it, and drops its tags', async () => {
    const { result } = await browser.call('transcode', `${harness.url}/fixtures/small.mp4`, 'small.mp4');
    const { file, bytes } = save(harness, 'small-out.mp4', result.base64);
    expect(bytes.includes(X264_SEI)).toBe(true);
    expect(bytes.includes(LOCATION)).toBe(false);
    expect(bytes.includes(TITLE)).toBe(false);
    const probe = ffprobe(file);
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(Math.abs(Number(probe.format.duration) - 3)).toBeLessThanOrEqual(0.3);
    expect(result.thumbhash).toBeTruthy();
  });

  it('scales a portrait 1080×1920 clip to 720×1280', async () => {
    const { result } = await browser.call('transcode', `${harness.url}/fixtures/portrait.mp4`, 'portrait.mp4');
    expect([result.width, result.height]).toEqual([720, 1280]);
    const probe = ffprobe(save(harness, 'portrait-out.mp4', result.base64).file);
    expect(probe.streams).toEqual([expect.objectContaining({ codec_name: 'h264', width: 720, height: 1280 })]);
    expect(Math.abs(result.durationMs! - 2000)).toBeLessThanOrEqual(300);
  });

  it('keeps a rotated phone video upright: 1920×1080 frames tagged rotate=90 come out as 720×1280', async () => {
    const { result } = await browser.call('transcode', `${harness.url}/fixtures/rotated.mp4`, 'rotated.mp4');
    expect([result.width, result.height]).toEqual([720, 1280]);
    const probe = ffprobe(save(harness, 'rotated-out.mp4', result.base64).file);
    const video = probe.streams.find((s) => s.codec_type === 'video')!;
    expect(Math.max(video.width!, video.height!)).toBe(1280);
    expect(Math.min(video.width!, video.height!)).toBe(720);
  });

  it('falls back to VP9/WebM with Opus where H.264 cannot be encoded, and to the typed error where nothing can', async () => {
    await browser.reload();
    const webm = await browser.call('transcodeWithout', ['avc1'], `${harness.url}/fixtures/in.mp4`, 'clip.mp4');
    if (!('result' in webm)) throw new Error(`No VP9 fallback: ${webm.error}`);
    expect(webm.result).toMatchObject({ name: 'clip.webm', mimeType: 'video/webm', width: 1280, height: 720 });
    const probe = ffprobe(save(harness, 'out.webm', webm.result.base64).file);
    expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['opus', 'vp9']); // WebM cannot hold the AAC
    expect(Math.abs(Number(probe.format.duration) - 3)).toBeLessThanOrEqual(0.3);

    await browser.reload();
    const none = await browser.call('transcodeWithout', ['avc1', 'vp09'], `${harness.url}/fixtures/in.mp4`, 'clip.mp4');
    expect(none.error).toBe('VideoCompressionError:no_encoder');
    await browser.reload(); // forget the refused encoders
  });

  it('stops promptly when the signal aborts, and reports no progress afterwards', async () => {
    const r = await browser.call('transcodeAndCancel', `${harness.url}/fixtures/long.mp4`, 'long.mp4', 0.1);
    console.log(`cancel: rejected ${Math.round(r.rejectMs)} ms after abort`);
    expect(r.aborted).toBe(true);
    expect(r.error).toBe('AbortError');
    expect(r.rejectMs).toBeLessThan(1000);
    expect(r.reportsLater).toBe(0);
  });

  it('throws VideoCompressionError for a file that is not a video, so the caller sends the original', async () => {
    expect(await browser.call('compressNotAVideo')).toEqual({ error: 'VideoCompressionError:unsupported_input' });
  });
});
