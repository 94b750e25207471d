import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { useServices } from '../app-context.ts';
import { ErrorText } from '../shared/error-text.tsx';
import { errorText } from '../shared/form-helpers.ts';
import { PaneHeader } from '../shared/pane-header.tsx';
import type { AdminPageProps } from './admin-page.tsx';

// Kept once loaded, so reopening the page does not wait for the chunk again.
let loaded: ComponentType<AdminPageProps> | null = null;

/** `#/admin`: the admin page, fetched as its own chunk only when an administrator opens it. */
export function AdminLoader() {
  const { app, client } = useServices();
  const me = app.session.me.value;
  const [Page, setPage] = useState<ComponentType<AdminPageProps> | null>(() => loaded);
  const [error, setError] = useState<string | null>(null);
  const isAdmin = me?.isAdmin === true;
  useEffect(() => {
    if (!isAdmin || Page) return;
    import('./admin-page.tsx').then(
      (m) => {
        loaded = m.AdminPage;
        setPage(() => m.AdminPage);
      },
      (err) => setError(errorText(err)),
    );
  }, [isAdmin]);
  if (Page && me && isAdmin) return <Page client={client} selfId={me.id} tab={app.router.route.value.path[1]} />;
  return (
    <section class="pane page" aria-labelledby="admin-title" aria-busy={!error && (!me || isAdmin)}>
      <PaneHeader title="Administration" id="admin-title" />
      <div class="page-body">
        {me && !isAdmin && <ErrorText error="Only administrators can open this page" />}
        <ErrorText error={error} />
      </div>
    </section>
  );
}
