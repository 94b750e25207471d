// Video compression in the browser (WebCodecs through mediabunny). Load this module only with
// `import('./video.ts')`: mediabunny is ~140 KB gzipped and must stay out of the main bundle.
import {
  ALL_FORMATS,
  BlobSource,
  BufferTarget,
  CanvasSink,
  Conversion,
  ConversionCanceledError,
  Input,
  Mp4OutputFormat,
  Output,
  Quality,
  WebMOutputFormat,
  canEncodeVideo,
  type ConversionAudioOptions,
  type ConversionVideoOptions,
  type InputAudioTrack,
  type OutputFormat,
  type VideoCodec,
} from 'mediabunny';
import type { PreparedMedia } from './prepared-media.ts';
import { posterPreviews } from './video-poster.ts';

/** Longest side of a compressed video (720p landscape or portrait). */
export const MAX_VIDEO_SIDE = 1280;
export const VIDEO_BITRATE = 1_500_000;
/** A source already in H.264 within the size and at most this bitrate is copied, not re-encoded. */
const COPY_BELOW_BITRATE = 2_000_000;
const OPUS_BITRATE = 96_000;
const MAX_FRAME_RATE = 30;

/**
 * Why a video could not be compressed; the caller then sends the original file.
 * - `unsupported_input`: not a video this browser can read or decode
 * - `no_encoder`: no H.264 or VP9 encoder here (no WebCodecs, or neither codec)
 * - `failed`: the conversion started and failed
 */
export class VideoCompressionError extends Error {
  readonly code: 'unsupported_input' | 'no_encoder' | 'failed';
  constructor(code: VideoCompressionError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VideoCompressionError';
    this.code = code;
  }
}

interface Target {
  codec: VideoCodec;
  mimeType: string;
  extension: string;
  format: () => OutputFormat;
}

// MP4/H.264 plays everywhere; VP9/WebM is the fallback where no H.264 encoder is available.
const TARGETS: Target[] = [
  { codec: 'avc', mimeType: 'video/mp4', extension: 'mp4', format: () => new Mp4OutputFormat({ fastStart: 'in-memory' }) },
  { codec: 'vp9', mimeType: 'video/webm', extension: 'webm', format: () => new WebMOutputFormat() },
];

/**
 * Transcodes a video to at most 1280 px on its longest side at ~1.5 Mbit/s (MP4/H.264, else WebM/VP9), copying
 * the audio when the container can hold it and encoding Opus otherwise. Rejects with the signal's reason when
 * aborted, and with a VideoCompressionError when the browser cannot do it (send the original then).
 *
 * @example
 * const { compressVideo } = await import('./media/video.ts');
 * const media = await compressVideo(file, { onProgress: (f) => (progress.value = f), signal });
 */
export async function compressVideo(file: File, options: { onProgress?: (fraction: number) => void; signal?: AbortSignal } = {}): Promise<PreparedMedia> {
  const { onProgress, signal } = options;
  signal?.throwIfAborted();
  if (typeof VideoEncoder === 'undefined' || typeof VideoDecoder === 'undefined')
    throw new VideoCompressionError('no_encoder', 'This browser cannot encode video (no WebCodecs)');

  const input = new Input({ source: new BlobSource(file), formats: ALL_FORMATS });
  try {
    const plan = await planConversion(input, file);
    signal?.throwIfAborted();
    let lastError: unknown;
    for (const target of TARGETS) {
      const copies = plan.copyVideo && target.codec === 'avc';
      if (!copies && !(await canEncodeVideo(target.codec, { width: plan.width, height: plan.height, quality: new Quality({ bitrate: VIDEO_BITRATE }) })))
        continue;
      try {
        const blob = await convert(input, target, plan, { onProgress, signal });
        const media = await describe(blob, file.name, target);
        onProgress?.(1);
        return media;
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (err instanceof VideoCompressionError && err.code !== 'failed') throw err;
        lastError = err; // e.g. the encoder failed mid-way: try the next codec
      }
    }
    if (lastError) throw new VideoCompressionError('failed', `Compressing "${file.name}" failed`, { cause: lastError });
    throw new VideoCompressionError('no_encoder', 'This browser can encode neither H.264 nor VP9 video');
  } finally {
    input.dispose();
  }
}

interface Plan {
  width: number;
  height: number;
  /** Whether the source video can be copied as it is (H.264, small enough, low bitrate) */
  copyVideo: boolean;
  frameRate?: number;
}

async function planConversion(input: Input, file: File): Promise<Plan> {
  let video;
  try {
    if (!(await input.canRead())) throw new Error('unknown container');
    video = await input.getPrimaryVideoTrack();
  } catch (err) {
    throw new VideoCompressionError('unsupported_input', `"${file.name}" is not a video this browser can read`, { cause: err });
  }
  if (!video) throw new VideoCompressionError('unsupported_input', `"${file.name}" has no video track`);
  if (!(await video.canDecode())) throw new VideoCompressionError('unsupported_input', `This browser cannot decode the video in "${file.name}"`);

  const srcW = video.displayWidth;
  const srcH = video.displayHeight;
  const scale = Math.min(1, MAX_VIDEO_SIDE / Math.max(srcW, srcH));
  // Encoders want even dimensions.
  const width = Math.max(2, 2 * Math.round((srcW * scale) / 2));
  const height = Math.max(2, 2 * Math.round((srcH * scale) / 2));

  const duration = await input.computeDuration();
  const bitrate = duration > 0 ? (file.size * 8) / duration : Infinity;
  const copyVideo = video.codec === 'avc' && scale === 1 && bitrate <= COPY_BELOW_BITRATE;
  const stats = await video.computePacketStats(240).catch(() => null);
  const frameRate = stats && stats.averagePacketRate > MAX_FRAME_RATE + 1 ? MAX_FRAME_RATE : undefined;
  return { width, height, copyVideo, frameRate };
}

async function convert(
  input: Input,
  target: Target,
  plan: Plan,
  { onProgress, signal }: { onProgress?: (fraction: number) => void; signal?: AbortSignal },
): Promise<Blob> {
  const output = new Output({ format: target.format(), target: new BufferTarget() });
  const format = output.format;
  const video: ConversionVideoOptions =
    plan.copyVideo && target.codec === 'avc'
      ? {}
      : {
          codec: target.codec,
          width: plan.width,
          height: plan.height,
          fit: 'contain',
          quality: new Quality({ bitrate: VIDEO_BITRATE }),
          ...(plan.frameRate ? { frameRate: plan.frameRate } : {}),
        };
  // Copy the audio when the container can hold it (AAC in MP4, Opus in WebM); WebCodecs has no AAC encoder, so Opus otherwise.
  const audio = (track: InputAudioTrack): ConversionAudioOptions =>
    format.getSupportedAudioCodecs().includes(track.codec!) ? {} : { codec: 'opus', quality: new Quality({ bitrate: OPUS_BITRATE }) };

  // No tags: a phone's video carries where it was shot (©xyz) and the device, which the compressed copy must not.
  const conversion = await Conversion.init({ input, output, tracks: 'primary', video, audio, tags: {}, showWarnings: false });
  if (!conversion.isValid || !conversion.utilizedTracks.some((t) => t.isVideoTrack()))
    throw new VideoCompressionError('failed', `No ${target.codec} output is possible: ${conversion.discardedTracks.map((d) => d.reason).join(', ')}`);
  if (onProgress) conversion.onProgress = (p) => onProgress(Math.min(0.95, p * 0.95));

  const abort = () => void conversion.cancel();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    await conversion.execute();
  } catch (err) {
    if (err instanceof ConversionCanceledError && signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    signal?.removeEventListener('abort', abort);
  }
  signal?.throwIfAborted();
  const buffer = (output.target as BufferTarget).buffer;
  if (!buffer) throw new VideoCompressionError('failed', 'The conversion produced no output');
  return new Blob([buffer], { type: target.mimeType });
}

/** Reads back what was written: its duration, size and a poster frame for the previews. */
async function describe(blob: Blob, originalName: string, target: Target): Promise<PreparedMedia> {
  const result = new Input({ source: new BlobSource(blob), formats: ALL_FORMATS });
  try {
    const track = await result.getPrimaryVideoTrack();
    if (!track) throw new VideoCompressionError('failed', 'The compressed video has no video track');
    const duration = await result.computeDuration();
    const width = track.displayWidth;
    const height = track.displayHeight;
    const media: PreparedMedia = {
      blob,
      name: renameTo(originalName, target.extension),
      mimeType: target.mimeType,
      width,
      height,
      durationMs: Math.round(duration * 1000),
    };
    // A frame a second in (or halfway through a shorter clip): the first frame is often black.
    const sink = new CanvasSink(track, { width: Math.min(width, 256), poolSize: 1 });
    const frame = (await sink.getCanvas(Math.min(1, duration / 2))) ?? (await sink.getCanvas(0));
    if (frame) Object.assign(media, await posterPreviews(frame.canvas, frame.canvas.width, frame.canvas.height));
    return media;
  } finally {
    result.dispose();
  }
}

function renameTo(name: string, extension: string): string {
  const base = name.replace(/\.[^./\\]{1,8}$/, '') || 'video';
  return `${base}.${extension}`;
}
