import type { PreparedMedia } from './prepared-media.ts';

/** Longest voice note by default: 15 minutes. */
export const MAX_VOICE_MS = 15 * 60_000;
export const WAVEFORM_POINTS = 64;
const BITRATE = 32_000;
/** How often the loudness is sampled for the meter and the waveform. */
const SAMPLE_EVERY_MS = 50;
// MediaRecorder's Opus in WebM (Chromium, Firefox), else in MP4 (Safari).
const MIME_TYPES = ['audio/webm;codecs=opus', 'audio/mp4;codecs=opus'];

/** A voice note being recorded. */
export interface VoiceRecording {
  /** Ends the recording and returns the file; after `maxMs` the recording has already ended and this returns it. */
  stop(): Promise<PreparedMedia>;
  /** Ends the recording and throws it away. */
  cancel(): void;
  elapsedMs(): number;
  /** The current loudness, 0..1 */
  level(): number;
}

/**
 * Why recording could not start.
 * - `denied`: the user or the browser refused the microphone
 * - `no_microphone`: there is none
 * - `busy`: another application holds it
 * - `unsupported`: no getUserMedia or no Opus MediaRecorder here
 */
export class VoiceRecordingError extends Error {
  readonly code: 'denied' | 'no_microphone' | 'busy' | 'unsupported';
  constructor(code: VoiceRecordingError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VoiceRecordingError';
    this.code = code;
  }
}

/**
 * Asks for the microphone and starts recording a voice note (mono Opus at ~32 kbit/s).
 *
 * @example
 * const rec = await startVoiceRecording();
 * const media = await rec.stop(); // media.voice === true, media.durationMs, media.waveform
 */
export async function startVoiceRecording(options: { maxMs?: number } = {}): Promise<VoiceRecording> {
  const maxMs = options.maxMs ?? MAX_VOICE_MS;
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined')
    throw new VoiceRecordingError('unsupported', 'This browser cannot record audio');
  const mimeType = MIME_TYPES.find((t) => MediaRecorder.isTypeSupported(t));
  if (!mimeType) throw new VoiceRecordingError('unsupported', 'This browser cannot record Opus audio');

  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
  } catch (err) {
    throw microphoneError(err);
  }

  let recorder: MediaRecorder;
  try {
    recorder = new MediaRecorder(stream, { mimeType, audioBitsPerSecond: BITRATE });
  } catch (err) {
    for (const track of stream.getTracks()) track.stop();
    throw new VoiceRecordingError('unsupported', 'This browser cannot record Opus audio', { cause: err });
  }
  const chunks: Blob[] = [];
  recorder.ondataavailable = (e) => {
    if (e.data.size > 0) chunks.push(e.data);
  };
  const stopped = new Promise<void>((resolve) => recorder.addEventListener('stop', () => resolve(), { once: true }));
  const meter = startMeter(stream);
  const startedAt = new Date();
  const t0 = performance.now();
  let endedAt: number | null = null;
  let result: Promise<PreparedMedia> | null = null;

  const release = () => {
    if (endedAt === null) endedAt = performance.now();
    clearTimeout(limit);
    meter.stop();
    if (recorder.state !== 'inactive') recorder.stop();
    for (const track of stream.getTracks()) track.stop();
  };
  const finish = (): Promise<PreparedMedia> => {
    result ??= (async () => {
      release();
      await stopped;
      const elapsed = Math.round(endedAt! - t0);
      const recorded = new Blob(chunks, { type: mimeType.split(';')[0] });
      return prepare(recorded, { elapsed, startedAt, waveform: meter.waveform() });
    })();
    return result;
  };
  const limit = setTimeout(() => void finish(), maxMs);

  recorder.start(1000);
  return {
    stop: finish,
    cancel() {
      result ??= Promise.reject(new DOMException('The voice note was cancelled', 'AbortError'));
      result.catch(() => {});
      release();
    },
    elapsedMs: () => Math.min(maxMs, Math.round((endedAt ?? performance.now()) - t0)),
    level: () => (endedAt === null ? meter.level() : 0),
  };
}

function microphoneError(err: unknown): VoiceRecordingError {
  const name = err instanceof DOMException ? err.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return new VoiceRecordingError('denied', 'Microphone access was denied', { cause: err });
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return new VoiceRecordingError('no_microphone', 'No microphone was found', { cause: err });
  if (name === 'NotReadableError' || name === 'AbortError')
    return new VoiceRecordingError('busy', 'The microphone could not be started (is another application using it?)', { cause: err });
  return new VoiceRecordingError('unsupported', 'The microphone could not be started', { cause: err });
}

async function prepare(recorded: Blob, o: { elapsed: number; startedAt: Date; waveform: string }): Promise<PreparedMedia> {
  let blob = recorded;
  let durationMs = o.elapsed;
  try {
    const { remuxVoice } = await import('./voice-remux.ts');
    const remuxed = await remuxVoice(recorded);
    blob = remuxed.blob;
    if (remuxed.durationS > 0) durationMs = Math.round(remuxed.durationS * 1000);
  } catch (err) {
    // The recording still plays without the remux; it only lacks a duration in its header.
    console.warn('Voice note remux failed', err);
  }
  const extension = blob.type === 'audio/mp4' ? 'm4a' : 'webm';
  return {
    blob,
    name: `voice-${stamp(o.startedAt)}.${extension}`,
    mimeType: blob.type,
    durationMs,
    voice: true,
    waveform: o.waveform,
  };
}

/** `2026-12-03-1412`, local time. */
function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
}

interface Meter {
  level(): number;
  waveform(): string;
  stop(): void;
}

/** Samples the loudness (RMS) of the stream every 50 ms, for the live meter and the note's waveform. */
function startMeter(stream: MediaStream): Meter {
  const samples: number[] = [];
  let current = 0;
  let ctx: AudioContext | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    ctx = new AudioContext();
    void ctx.resume().catch(() => {});
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    timer = setInterval(() => {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      samples.push(rms);
      // Speech sits around 0.02–0.3 RMS: a square root spreads that over the meter.
      current = Math.min(1, Math.sqrt(rms * 3));
    }, SAMPLE_EVERY_MS);
  } catch {
    // No Web Audio: record without a meter or waveform.
  }
  return {
    level: () => current,
    waveform: () => waveformOf(samples),
    stop() {
      clearInterval(timer);
      void ctx?.close().catch(() => {});
      ctx = null;
    },
  };
}

/** 64 bars (fewer for very short notes), the loudest of each stretch, scaled so the loudest bar is 255. */
export function waveformOf(samples: number[]): string {
  const n = Math.min(WAVEFORM_POINTS, samples.length);
  if (n === 0) return btoa(String.fromCharCode(0));
  const bars: number[] = [];
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * samples.length) / n);
    const to = Math.max(from + 1, Math.floor(((i + 1) * samples.length) / n));
    bars.push(Math.max(...samples.slice(from, to)));
  }
  // A floor on the peak, so that near-silence stays low instead of being blown up to full bars.
  const peak = Math.max(0.02, ...bars);
  return btoa(String.fromCharCode(...bars.map((b) => Math.round((Math.min(b, peak) / peak) * 255))));
}
