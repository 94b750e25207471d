import type { ParleyClient } from '@parley/sdk';
import { PaneHeader } from '../shared/pane-header.tsx';
import { AdminInvites } from './admin-invites.tsx';
import { AdminServer } from './admin-server.tsx';
import { AdminUsers } from './admin-users.tsx';

export interface AdminPageProps {
  client: ParleyClient;
  /** The signed-in administrator's account id (the page offers nothing against one's own account) */
  selfId: string;
  /** `#/admin/<tab>`: users (the default), invites or server */
  tab: string | undefined;
}

const TABS = [
  { id: 'users', label: 'Users' },
  { id: 'invites', label: 'Invites' },
  { id: 'server', label: 'Server' },
] as const;

/**
 * The administrators' page: accounts, every invite, and the server's health and limits. It is its own
 * chunk and takes what it needs as props: importing the app's context module from here would make the
 * bundler split the protocol out of the first page's chunk.
 */
export function AdminPage({ client, selfId, tab = 'users' }: AdminPageProps) {
  return (
    <section class="pane page admin" aria-labelledby="admin-title">
      <PaneHeader title="Administration" id="admin-title" />
      <nav class="admin-tabs" aria-label="Administration">
        {TABS.map((t) => (
          <a key={t.id} href={`#/admin/${t.id}`} aria-current={tab === t.id ? 'page' : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      <div class="page-body">
        {tab === 'invites' ? (
          <AdminInvites client={client} />
        ) : tab === 'server' ? (
          <AdminServer client={client} />
        ) : (
          <AdminUsers client={client} selfId={selfId} />
        )}
      </div>
    </section>
  );
}
