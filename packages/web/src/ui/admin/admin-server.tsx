import { Fragment } from 'preact';
import type { Limits, ParleyClient } from '@parley/sdk';
import { ErrorText } from '../shared/error-text.tsx';
import { formatBytes } from '../shared/format-bytes.ts';
import { useResource } from '../shared/use-resource.ts';

const LIMITS: { key: keyof Limits; label: string; bytes?: boolean }[] = [
  { key: 'messageLength', label: 'Message length (characters)' },
  { key: 'groupMembers', label: 'Group members' },
  { key: 'channelSubscribers', label: 'Channel subscribers' },
  { key: 'chatsPerUser', label: 'Chats per user' },
  { key: 'sessionsPerUser', label: 'Devices per user' },
  { key: 'fileSize', label: 'File size', bytes: true },
  { key: 'uploadBytesPerHour', label: 'Uploads per user and hour', bytes: true },
  { key: 'unfinishedUploads', label: 'Unfinished uploads per user' },
  { key: 'attachmentsPerMessage', label: 'Files per message' },
];

function Up({ up }: { up: boolean }) {
  return <span class={up ? 'info' : 'error'}>{up ? 'up' : 'down'}</span>;
}

/** The server's health as the answering node sees it, how much it holds, and its limits. */
export function AdminServer({ client }: { client: ParleyClient }) {
  const status = useResource(() => client.getServerStatus(), []);
  const s = status.data;
  return (
    <>
      <ErrorText error={status.error} />
      {s && (
        <>
          <section class="card" aria-label="Health">
            <h3>Health</h3>
            <dl class="admin-facts">
              <dt>Version</dt>
              <dd>{s.version}</dd>
              <dt>Node</dt>
              <dd>{s.node}</dd>
              <dt>Store</dt>
              <dd>
                {s.store} · <Up up={s.storeUp} />
              </dd>
              <dt>Bus</dt>
              <dd>
                {s.bus} · <Up up={s.busUp} />
              </dd>
              <dt>Files</dt>
              <dd>{s.blobStore}</dd>
            </dl>
            <button type="button" onClick={() => void status.reload()}>
              Check again
            </button>
          </section>
          <section class="card" aria-label="Contents">
            <h3>Contents</h3>
            <dl class="admin-facts">
              <dt>Accounts</dt>
              <dd>{s.counts.accounts}</dd>
              <dt>Chats</dt>
              <dd>{s.counts.chats}</dd>
              <dt>Messages</dt>
              <dd>{s.counts.messages}</dd>
              <dt>Files</dt>
              <dd>
                {s.counts.files} · {formatBytes(s.counts.fileBytes)}
              </dd>
            </dl>
          </section>
          <section class="card" aria-label="Limits">
            <h3>Limits</h3>
            <dl class="admin-facts">
              {LIMITS.map((l) => (
                <Fragment key={l.key}>
                  <dt>{l.label}</dt>
                  <dd>{l.bytes ? formatBytes(s.limits[l.key]) : s.limits[l.key]}</dd>
                </Fragment>
              ))}
            </dl>
            <p class="hint">Set by the operator in the server’s configuration.</p>
          </section>
        </>
      )}
    </>
  );
}
