import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import '../media.css';

const SPEEDS = [1, 1.5, 2];
/** Bars drawn when the note carries no waveform. */
const FLAT_BARS = 48;

/** `m:ss` (or `h:mm:ss`) of a length in milliseconds. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const ss = String(s % 60).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}:${ss}`;
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${ss}`;
}

/** The waveform's bytes as 0..1 heights. */
function decodeWaveform(waveform: string | undefined): number[] {
  if (waveform) {
    try {
      const bytes = atob(waveform);
      if (bytes.length > 0) return Array.from(bytes, (c) => c.charCodeAt(0) / 255);
    } catch {
      // not base64: draw it flat
    }
  }
  return new Array<number>(FLAT_BARS).fill(0.25);
}

/**
 * A voice note in the timeline: play/pause, the waveform (click or arrow keys to seek), time and speed.
 * `src` stays undefined until the file is downloaded: the first play (or seek) calls `load()` and plays
 * when `src` arrives. The row has a fixed height, so the virtual list never jumps.
 */
export function VoicePlayer(props: { src: string | undefined; load: () => void; durationMs?: number; waveform?: string }) {
  const { src, load, durationMs, waveform } = props;
  const audio = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const [wantPlay, setWantPlay] = useState(false);
  const [position, setPosition] = useState(0);
  const [mediaDuration, setMediaDuration] = useState(0);
  const [rate, setRate] = useState(1);
  const pendingSeek = useRef<number | null>(null);
  const bars = useMemo(() => decodeWaveform(waveform), [waveform]);
  // The message's duration first: a MediaRecorder file may report none (Infinity) until played through.
  const total = durationMs && durationMs > 0 ? durationMs / 1000 : mediaDuration;
  const fraction = total > 0 ? Math.min(1, position / total) : 0;
  // The length to the nearest second (a 1.98 s note says 0:02), the elapsed time counted up in whole seconds.
  const totalMs = Math.round(total) * 1000;
  const loading = wantPlay && !src;

  // The file arrived after a play was asked for: play it now.
  useEffect(() => {
    const el = audio.current;
    if (!el || !src || !wantPlay) return;
    setWantPlay(false);
    el.playbackRate = rate;
    el.play().catch(() => setPlaying(false));
  }, [src, wantPlay]);

  // A smooth played part while playing (timeupdate fires only about 4 times a second), re-rendering at most
  // every 50 ms of playback rather than on every frame.
  useEffect(() => {
    if (!playing) return;
    let frame = requestAnimationFrame(function tick() {
      if (audio.current) setPosition(Math.floor(audio.current.currentTime * 20) / 20);
      frame = requestAnimationFrame(tick);
    });
    return () => cancelAnimationFrame(frame);
  }, [playing]);

  function toggle() {
    const el = audio.current;
    if (!el) return;
    if (!src) {
      if (!wantPlay) load();
      setWantPlay(true);
      return;
    }
    if (el.paused) {
      el.playbackRate = rate;
      el.play().catch(() => setPlaying(false));
    } else el.pause();
  }

  function seekTo(f: number) {
    const clamped = Math.min(1, Math.max(0, f));
    setPosition(clamped * total);
    const el = audio.current;
    if (el && src && el.readyState >= HTMLMediaElement.HAVE_METADATA) el.currentTime = clamped * total;
    else {
      pendingSeek.current = clamped;
      if (!src) load();
    }
  }

  function cycleSpeed() {
    const next = SPEEDS[(SPEEDS.indexOf(rate) + 1) % SPEEDS.length];
    setRate(next);
    if (audio.current) {
      audio.current.playbackRate = next;
      audio.current.defaultPlaybackRate = next;
    }
  }

  const played = Math.round(fraction * bars.length);
  return (
    <div class="voice-player">
      <button type="button" class="voice-play" aria-label={playing ? 'Pause the voice note' : 'Play the voice note'} aria-busy={loading} onClick={toggle}>
        {loading ? <span class="voice-spinner" aria-hidden="true" /> : playing ? '❚❚' : '▶'}
      </button>
      <div
        class="voice-wave"
        role="slider"
        tabIndex={0}
        aria-label="Seek in the voice note"
        aria-valuemin={0}
        aria-valuemax={Math.round(total)}
        aria-valuenow={Math.round(position)}
        aria-valuetext={`${formatDuration(position * 1000)} of ${formatDuration(totalMs)}`}
        onClick={(e) => {
          const box = e.currentTarget.getBoundingClientRect();
          if (box.width > 0) seekTo((e.clientX - box.left) / box.width);
        }}
        onKeyDown={(e) => {
          const step = total > 0 ? Math.min(5, total / 10) / total : 0.1;
          const to: Record<string, number> = { ArrowLeft: fraction - step, ArrowRight: fraction + step, Home: 0, End: 1 };
          if (e.key in to) {
            e.preventDefault();
            seekTo(to[e.key]);
          } else if (e.key === ' ' || e.key === 'Enter') {
            e.preventDefault();
            toggle();
          }
        }}
      >
        {bars.map((h, i) => (
          <span key={i} class={i < played ? 'voice-bar played' : 'voice-bar'} style={{ height: `${Math.max(8, Math.round(h * 100))}%` }} />
        ))}
      </div>
      <span class="voice-time">
        {formatDuration(position * 1000)} / {formatDuration(totalMs)}
      </span>
      <button type="button" class="voice-speed" aria-label={`Playback speed ${rate}×`} onClick={cycleSpeed}>
        {rate}×
      </button>
      <audio
        ref={audio}
        src={src}
        preload={src ? 'auto' : 'none'}
        onPlay={() => setPlaying(true)}
        onPause={() => {
          setPlaying(false);
          if (audio.current) setPosition(audio.current.currentTime);
        }}
        onEnded={() => {
          setPlaying(false);
          setPosition(0);
          if (audio.current) audio.current.currentTime = 0;
        }}
        onLoadedMetadata={(e) => {
          const el = e.currentTarget;
          if (Number.isFinite(el.duration)) setMediaDuration(el.duration);
          el.playbackRate = rate;
          const length = total > 0 ? total : el.duration;
          if (pendingSeek.current !== null && Number.isFinite(length)) el.currentTime = pendingSeek.current * length;
          pendingSeek.current = null;
        }}
        onDurationChange={(e) => {
          if (Number.isFinite(e.currentTarget.duration)) setMediaDuration(e.currentTarget.duration);
        }}
      />
    </div>
  );
}
