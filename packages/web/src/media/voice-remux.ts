// Loaded lazily by the voice recorder: it pulls in mediabunny.
import { BlobSource, BufferTarget, Conversion, Input, MP4, Mp4OutputFormat, Output, WEBM, WebMOutputFormat } from 'mediabunny';

/**
 * Rewrites a MediaRecorder file without re-encoding: MediaRecorder's WebM has no duration and no cues,
 * so players show "0:00" and cannot seek. Returns the new file and its duration in seconds.
 */
export async function remuxVoice(recorded: Blob): Promise<{ blob: Blob; durationS: number }> {
  const input = new Input({ source: new BlobSource(recorded), formats: [WEBM, MP4] });
  const webm = (await input.getFormat()) === WEBM;
  const output = new Output({
    format: webm ? new WebMOutputFormat() : new Mp4OutputFormat({ fastStart: 'in-memory' }),
    target: new BufferTarget(),
  });
  try {
    const conversion = await Conversion.init({ input, output, video: { discard: true }, showWarnings: false });
    if (!conversion.isValid) throw new Error(`Cannot remux the recording: ${conversion.discardedTracks.map((d) => d.reason).join(', ')}`);
    await conversion.execute();
  } finally {
    input.dispose();
  }
  const buffer = (output.target as BufferTarget).buffer!;
  const blob = new Blob([buffer], { type: webm ? 'audio/webm' : 'audio/mp4' });
  const check = new Input({ source: new BlobSource(blob), formats: [WEBM, MP4] });
  try {
    return { blob, durationS: await check.computeDuration() };
  } finally {
    check.dispose();
  }
}
