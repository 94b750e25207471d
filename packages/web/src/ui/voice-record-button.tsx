import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { PreparedMedia } from '../media/prepared-media.ts';
import { MAX_VOICE_MS, startVoiceRecording, VoiceRecordingError, type VoiceRecording } from '../media/voice-recorder.ts';
import { formatDuration } from './message-list/voice-player.tsx';
import './media.css';

type Phase = 'idle' | 'starting' | 'recording' | 'finishing';

const ERRORS: Record<VoiceRecordingError['code'], string> = {
  denied: 'Microphone access is blocked: allow it for this site in the browser settings to record a voice note',
  no_microphone: 'No microphone was found: connect one to record a voice note',
  busy: 'The microphone could not be started: another application may be using it',
  unsupported: 'This browser cannot record voice notes',
};

/** The composer's microphone: records a voice note, then hands it over (send) or throws it away (cancel, Escape). */
export function VoiceRecordButton(props: { onRecorded: (media: PreparedMedia) => void; disabled?: boolean }) {
  const [phase, setPhase] = useState<Phase>('idle');
  const [error, setError] = useState<string | null>(null);
  const [elapsed, setElapsed] = useState(0);
  const [level, setLevel] = useState(0);
  const recording = useRef<VoiceRecording | null>(null);
  const sendButton = useRef<HTMLButtonElement>(null);
  const micButton = useRef<HTMLButtonElement>(null);
  const onRecorded = useRef(props.onRecorded);
  onRecorded.current = props.onRecorded;

  async function start() {
    setError(null);
    setPhase('starting');
    try {
      recording.current = await startVoiceRecording();
      setElapsed(0);
      setPhase('recording');
    } catch (err) {
      setPhase('idle');
      setError(err instanceof VoiceRecordingError ? ERRORS[err.code] : 'The voice note could not be recorded');
    }
  }

  async function send() {
    const rec = recording.current;
    if (!rec) return;
    setPhase('finishing');
    try {
      const media = await rec.stop();
      onRecorded.current(media);
    } catch {
      setError('The voice note could not be saved');
    } finally {
      recording.current = null;
      setPhase('idle');
    }
  }

  function cancel() {
    recording.current?.cancel();
    recording.current = null;
    setPhase('idle');
  }

  // The focus moves to the recorder before it is painted: a key pressed as it appears (Escape) reaches it.
  useLayoutEffect(() => {
    if (phase === 'recording') sendButton.current?.focus();
  }, [phase]);

  // While recording: the clock and the meter, and the send at the length limit (the recorder has stopped by then).
  useEffect(() => {
    if (phase !== 'recording') return;
    const timer = setInterval(() => {
      const rec = recording.current;
      if (!rec) return;
      const ms = rec.elapsedMs();
      setElapsed(ms);
      setLevel(rec.level());
      if (ms >= MAX_VOICE_MS) void send();
    }, 100);
    return () => clearInterval(timer);
  }, [phase]);

  // After a recording the buttons that had the focus are gone: give it back to the microphone.
  const wasRecording = useRef(false);
  useEffect(() => {
    if (phase === 'recording') wasRecording.current = true;
    if (phase !== 'idle' || !wasRecording.current) return;
    wasRecording.current = false;
    if (document.activeElement === document.body || document.activeElement === null) micButton.current?.focus();
  }, [phase]);

  // Leaving the chat mid-recording releases the microphone.
  useEffect(() => () => recording.current?.cancel(), []);

  if (phase === 'recording' || phase === 'finishing') {
    const busy = phase === 'finishing';
    return (
      <div
        class="voice-recorder"
        role="group"
        aria-label="Recording a voice note"
        onKeyDown={(e) => {
          if (e.key === 'Escape' && !busy) {
            e.preventDefault();
            cancel();
          }
        }}
      >
        <button type="button" class="voice-cancel" aria-label="Cancel the voice note" onClick={cancel} disabled={busy}>
          ✕
        </button>
        <span class="voice-dot" aria-hidden="true" />
        <span class="voice-elapsed" role="timer" aria-label="Recorded time">
          {formatDuration(elapsed)}
        </span>
        <span class="voice-level" role="meter" aria-label="Microphone level" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(level * 100)}>
          <span class="voice-level-fill" style={{ transform: `scaleX(${level.toFixed(3)})` }} />
        </span>
        <button ref={sendButton} type="button" class="voice-send" aria-label="Send the voice note" onClick={() => void send()} disabled={busy}>
          {busy ? '…' : '➤'}
        </button>
      </div>
    );
  }

  return (
    <span class="voice-record">
      <button
        ref={micButton}
        type="button"
        class="voice-mic"
        aria-label="Record a voice note"
        title="Record a voice note"
        onClick={() => void start()}
        disabled={props.disabled || phase === 'starting'}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path
            fill="currentColor"
            d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2z"
          />
        </svg>
      </button>
      {error && (
        <span class="voice-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
