// The media test page: puts the media modules on `window.media` for the browser tests to drive.
// video.ts is imported dynamically, as the app will: the build must emit mediabunny as its own chunk.
import { h, render } from 'preact';
import type { PreparedMedia } from '../../src/media/prepared-media.ts';
import { startVoiceRecording, type VoiceRecording } from '../../src/media/voice-recorder.ts';
import { VoicePlayer } from '../../src/ui/message-list/voice-player.tsx';
import { VoiceRecordButton } from '../../src/ui/voice-record-button.tsx';

/** What a test reads back: PreparedMedia without the Blob, plus the file's size and bytes. */
export interface MediaResult extends Omit<PreparedMedia, 'blob'> {
  size: number;
  type: string;
  base64: string;
}

async function describeMedia(media: PreparedMedia): Promise<MediaResult> {
  const { blob, ...rest } = media;
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { ...rest, size: blob.size, type: blob.type, base64: btoa(binary) };
}

async function fetchFile(url: string, name: string): Promise<File> {
  const res = await fetch(url);
  const blob = await res.blob();
  return new File([blob], name, { type: blob.type });
}

// Keeps the streams the recorder gets (the real ones), so a test can check that their tracks were stopped.
const streams: MediaStream[] = [];
if (navigator.mediaDevices) {
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    streams.push(stream);
    return stream;
  };
}

let last: PreparedMedia | null = null;
let recording: VoiceRecording | null = null;
let playerLoads = 0;
const app = () => document.getElementById('app')!;

const media = {
  async transcode(url: string, name: string) {
    const file = await fetchFile(url, name);
    const { compressVideo } = await import('../../src/media/video.ts');
    const progress: number[] = [];
    const t0 = performance.now();
    last = await compressVideo(file, { onProgress: (f) => progress.push(f) });
    const ms = performance.now() - t0;
    return { ms, progress, inputSize: file.size, result: await describeMedia(last) };
  },

  /** Aborts at the first progress report past `at`; says how long the rejection took and whether progress went on. */
  async transcodeAndCancel(url: string, name: string, at: number) {
    const file = await fetchFile(url, name);
    const { compressVideo } = await import('../../src/media/video.ts');
    const controller = new AbortController();
    let abortedAt = 0;
    let reportsAfterAbort = 0;
    const run = compressVideo(file, {
      signal: controller.signal,
      onProgress: (f) => {
        if (abortedAt) reportsAfterAbort++;
        else if (f >= at) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    });
    const outcome = await run.then(
      () => ({ error: null as string | null }),
      (err: unknown) => ({ error: err instanceof Error ? err.name : String(err) }),
    );
    const rejectMs = performance.now() - abortedAt;
    const before = reportsAfterAbort;
    await new Promise((r) => setTimeout(r, 700));
    return { ...outcome, aborted: abortedAt > 0, rejectMs, reportsAfterAbort: before, reportsLater: reportsAfterAbort - before };
  },

  /** As `transcode`, in a browser whose WebCodecs cannot encode the codecs whose names start with one of `refused` */
  async transcodeWithout(refused: string[], url: string, name: string) {
    const original = VideoEncoder.isConfigSupported.bind(VideoEncoder);
    VideoEncoder.isConfigSupported = async (config) =>
      refused.some((prefix) => config.codec.startsWith(prefix)) ? { supported: false, config } : original(config);
    try {
      return { ...(await media.transcode(url, name)), error: null };
    } catch (err) {
      const { VideoCompressionError } = await import('../../src/media/video.ts');
      return { error: err instanceof VideoCompressionError ? `VideoCompressionError:${err.code}` : String(err) };
    } finally {
      VideoEncoder.isConfigSupported = original;
    }
  },

  async compressNotAVideo() {
    const { compressVideo, VideoCompressionError } = await import('../../src/media/video.ts');
    try {
      await compressVideo(new File(['just some text'], 'notes.mp4', { type: 'video/mp4' }));
      return { error: null };
    } catch (err) {
      return { error: err instanceof VideoCompressionError ? `VideoCompressionError:${err.code}` : String(err) };
    }
  },

  /** Plays the last result in a <video>; resolves with how far it got after `ms`. */
  async playLastVideo(ms: number) {
    const video = document.createElement('video');
    video.muted = true;
    video.src = URL.createObjectURL(last!.blob);
    document.body.append(video);
    await video.play();
    await new Promise((r) => setTimeout(r, ms));
    return { currentTime: video.currentTime, videoWidth: video.videoWidth, videoHeight: video.videoHeight, error: video.error?.message ?? null };
  },

  /** The state of every microphone track handed out so far */
  microphoneTracks() {
    return streams.flatMap((s) => s.getTracks().map((t) => ({ kind: t.kind, readyState: t.readyState, channelCount: t.getSettings().channelCount })));
  },

  async startRecording() {
    recording = await startVoiceRecording();
  },
  levels() {
    return { elapsedMs: recording!.elapsedMs(), level: recording!.level() };
  },
  async stopRecording() {
    last = await recording!.stop();
    return describeMedia(last);
  },

  async recordAndCancel(ms: number) {
    const rec = await startVoiceRecording();
    await new Promise((r) => setTimeout(r, ms));
    rec.cancel();
    const stopped = await rec.stop().then(
      () => 'resolved',
      (err: unknown) => (err instanceof Error ? err.name : String(err)),
    );
    return { stopped, elapsedMs: rec.elapsedMs() };
  },

  /** The VoicePlayer for the last recording, whose src arrives 200 ms after it asks with load(). */
  mountPlayer() {
    const note = last!;
    playerLoads = 0;
    const draw = (src: string | undefined) =>
      render(
        h(VoicePlayer, {
          src,
          durationMs: note.durationMs,
          waveform: note.waveform,
          load: () => {
            playerLoads++;
            setTimeout(() => draw(URL.createObjectURL(note.blob)), 200);
          },
        }),
        app(),
      );
    draw(undefined);
  },
  playerState() {
    const audio = app().querySelector('audio')!;
    return {
      currentTime: audio.currentTime,
      paused: audio.paused,
      hasSrc: audio.hasAttribute('src'),
      loads: playerLoads,
      playbackRate: audio.playbackRate,
      played: app().querySelectorAll('.voice-bar.played').length,
      bars: app().querySelectorAll('.voice-bar').length,
      height: app().querySelector<HTMLElement>('.voice-player')!.getBoundingClientRect().height,
      time: app().querySelector('.voice-time')!.textContent,
    };
  },

  mountRecordButton() {
    const recorded: MediaResult[] = [];
    render(
      h(VoiceRecordButton, {
        onRecorded: (m) => {
          last = m;
          void describeMedia(m).then((d) => recorded.push(d));
        },
      }),
      app(),
    );
    (window as unknown as { recorded: MediaResult[] }).recorded = recorded;
  },
};

(window as unknown as { media: typeof media }).media = media;
export type MediaHarness = typeof media;
