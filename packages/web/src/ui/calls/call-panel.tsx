import { useEffect, useState } from 'preact/hooks';
import { userName } from '../../state/people-model.ts';
import { useApp } from '../app-context.ts';
import { formatDuration } from '../message-list/voice-player.tsx';
import './calls.css';

/**
 * The call of this device, on every page: an incoming call to accept or decline, the bar of a call
 * going on (mute, duration, hang up), then how it ended.
 */
export function CallPanel() {
  const app = useApp();
  const call = app.calls.call.value;
  const [now, setNow] = useState(Date.now());
  const connectedAt = call?.phase === 'connected' ? call.connectedAt : null;
  useEffect(() => {
    if (!connectedAt) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [connectedAt]);
  if (!call) return null;
  const name = userName(app.people, call.peerId);

  if (call.phase === 'incoming')
    return (
      <div class="call-panel incoming" role="alertdialog" aria-label="Incoming call" aria-describedby="call-incoming-text">
        <span class="call-pulse" aria-hidden="true">
          ✆
        </span>
        <p id="call-incoming-text" class="call-text">
          <strong>{name}</strong> is calling…
        </p>
        <button type="button" class="call-accept" onClick={() => void app.calls.accept()}>
          Accept
        </button>
        <button type="button" class="call-decline" onClick={() => void app.calls.decline()}>
          Decline
        </button>
      </div>
    );

  if (call.phase === 'ended')
    return (
      <div class="call-panel ended" role="status">
        <p class="call-text">
          <strong>{name}</strong> · <span class="call-outcome">{call.outcome}</span>
        </p>
        <button type="button" class="icon-button" aria-label="Dismiss" onClick={() => app.calls.dismiss()}>
          ✕
        </button>
      </div>
    );

  const status =
    call.phase === 'calling' ? 'Calling…' : call.phase === 'connecting' ? 'Connecting…' : formatDuration(Math.max(0, now - (call.connectedAt ?? now)));
  return (
    <div class="call-panel active" role="region" aria-label="Call">
      <p class="call-text">
        <strong>{name}</strong> ·{' '}
        <span class="call-status" aria-live="polite">
          {status}
        </span>
      </p>
      <button
        type="button"
        class="call-mute"
        aria-pressed={call.muted}
        disabled={call.phase === 'calling' && !call.callId}
        onClick={() => void app.calls.setMuted(!call.muted)}
      >
        {call.muted ? 'Unmute' : 'Mute'}
      </button>
      <button type="button" class="call-hangup" onClick={() => void app.calls.hangup()}>
        Hang up
      </button>
    </div>
  );
}
