import { useEffect, useState } from 'preact/hooks';
import type { Session } from '@parley/sdk';
import { client } from '../state/app-state.ts';
import { errorText } from './shared/form-helpers.ts';
import { formatFull } from './shared/format.ts';
import { PaneHeader } from './shared/pane-header.tsx';

export function SessionsScreen() {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = () =>
    client
      .listSessions()
      .then((r) => setSessions(r.sessions))
      .catch((err) => setError(errorText(err)));
  useEffect(() => {
    void reload();
  }, []);

  async function act(fn: () => Promise<unknown>) {
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(errorText(err));
    }
    await reload();
  }

  const current = sessions?.find((s) => s.current);
  const others = sessions?.filter((s) => !s.current) ?? [];
  return (
    <section class="pane page" aria-labelledby="sessions-title">
      <PaneHeader title="Devices" id="sessions-title" />
      <div class="page-body">
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {current && (
          <div class="card">
            <h3>This device</h3>
            <SessionLine s={current} />
          </div>
        )}
        <div class="card">
          <h3>Other devices</h3>
          {sessions && others.length === 0 && <p class="hint">No other devices are signed in.</p>}
          <ul class="sessions" aria-label="Other devices">
            {others.map((s) => (
              <li key={s.id}>
                <SessionLine s={s} />
                <button type="button" class="danger" aria-label={`Terminate ${s.deviceName}`} onClick={() => act(() => client.terminateSession({ sessionId: s.id }))}>
                  Terminate
                </button>
              </li>
            ))}
          </ul>
          {others.length > 0 && (
            <button type="button" class="danger" onClick={() => confirm('Sign out every other device?') && act(() => client.terminateOtherSessions())}>
              Terminate all other sessions
            </button>
          )}
        </div>
      </div>
    </section>
  );
}

function SessionLine({ s }: { s: Session }) {
  return (
    <div class="session">
      <strong>{s.deviceName}</strong>
      <span class="hint">
        Last active {formatFull(s.lastActiveAt)} · {s.ip}
      </span>
      <span class="hint ua">{s.userAgent}</span>
    </div>
  );
}
