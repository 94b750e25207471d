import type { Session } from '@parley/sdk';
import { useServices } from './app-context.ts';
import { ErrorText } from './shared/error-text.tsx';
import { useResource } from './shared/use-resource.ts';
import { formatFull } from './shared/format.ts';
import { PaneHeader } from './shared/pane-header.tsx';

export function SessionsScreen() {
  const { client } = useServices();
  const list = useResource(() => client.listSessions().then((r) => r.sessions), []);
  const { act } = list;
  const sessions = list.data ?? null;

  const current = sessions?.find((s) => s.current);
  const others = sessions?.filter((s) => !s.current) ?? [];
  return (
    <section class="pane page" aria-labelledby="sessions-title">
      <PaneHeader title="Devices" id="sessions-title" />
      <div class="page-body">
        <ErrorText error={list.error} />
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
                <button
                  type="button"
                  class="danger"
                  aria-label={`Terminate ${s.deviceName}`}
                  onClick={() => confirm(`Sign out ${s.deviceName}?`) && act(() => client.terminateSession({ sessionId: s.id }))}
                >
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
  // The raw user agent is for the curious (a tooltip); the name says the browser and system.
  return (
    <div class="session" title={s.userAgent}>
      <strong>{s.deviceName}</strong>
      <span class="hint">
        Signed in {formatFull(s.createdAt)} · last active {formatFull(s.lastActiveAt)} · {s.ip}
      </span>
    </div>
  );
}
