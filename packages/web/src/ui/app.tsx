import { useEffect, useState } from 'preact/hooks';
import { useApp } from './app-context.ts';
import { LoginScreen, RegisterScreen } from './auth-screens.tsx';
import { ChatList } from './chat-list.tsx';
import { ChatView } from './chat-view.tsx';
import { ChatInfoScreen } from './chat-info.tsx';
import { NewChatScreen } from './new-chat.tsx';
import { SessionsScreen } from './sessions-screen.tsx';
import { ProfileScreen } from './profile-screen.tsx';
import { InvitesScreen } from './invites-screen.tsx';
import { NotifyOffer } from '../notify/notify-offer.tsx';
import { showUnreadOnFavicon } from '../notify/favicon.ts';
import { CallPanel } from './calls/call-panel.tsx';
import { AdminLoader } from './admin/admin-loader.tsx';
import { HelpSheet, opensHelp } from './help-sheet.tsx';

/** The sidebar's links: where each goes, its tooltip (also its name, unless `label` starts one) and icon. */
const TOOLBAR: { page: string; title: string; icon: string; label?: string; admin?: boolean }[] = [
  { page: 'new', title: 'New chat', icon: '+' },
  { page: 'saved', title: 'Saved messages', icon: '★' },
  { page: 'invites', title: 'Invites', icon: '✉' },
  { page: 'sessions', title: 'Devices', icon: '⚙' },
  { page: 'admin', title: 'Administration', icon: '⚑', admin: true },
  // Named after the account, so the link says whose profile it is.
  { page: 'profile', title: 'Profile', icon: '☺', label: 'Profile of ' },
];

/** Pages Escape closes, back to the chat list. */
const PANELS = new Set(['new', 'sessions', 'profile', 'invites', 'admin']);

export function App() {
  const app = useApp();
  const state = app.session.auth.value;
  const [first, second, third] = app.router.route.value.path;
  const unread = state === 'signed-in' ? app.chats.unreadTotal.value : 0;
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Parley` : 'Parley';
    showUnreadOnFavicon(unread);
  }, [unread]);
  const [help, setHelp] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || document.querySelector('dialog[open], .viewer')) return;
      if (opensHelp(e) && app.session.auth.value === 'signed-in') {
        e.preventDefault();
        setHelp(true);
        return;
      }
      if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        e.preventDefault();
        nextChat(e.key === 'ArrowUp' ? -1 : 1, (hash) => app.router.go(hash));
        return;
      }
      // Escape closes a panel (chat info, settings pages), unless something inside used it first.
      if (e.key !== 'Escape') return;
      const [page, chatId, sub] = app.router.route.value.path;
      if (page === 'chat' && chatId && sub === 'info') app.router.go(`#/chat/${encodeURIComponent(chatId)}`);
      else if (page && PANELS.has(page)) app.router.go('#/');
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  // Started offline from the service worker's shell: say so rather than show a blank page.
  if (state === 'loading')
    return (
      <div class="splash" aria-busy="true" aria-label="Loading">
        {app.connection.connection.value !== 'connecting' && <ConnectionBanner />}
      </div>
    );
  if (state === 'signed-out') return first === 'register' ? <RegisterScreen /> : <LoginScreen />;

  let main = null;
  if (first === 'chat' && second && third === 'info') main = <ChatInfoScreen key={`${second}-info`} chatId={second} />;
  else if (first === 'chat' && second) main = <ChatView key={second} chatId={second} />;
  else if (first === 'saved') main = <SavedRedirect />;
  else if (first === 'new') main = <NewChatScreen />;
  else if (first === 'sessions') main = <SessionsScreen />;
  else if (first === 'profile') main = <ProfileScreen />;
  else if (first === 'invites') main = <InvitesScreen />;
  else if (first === 'admin') main = <AdminLoader />;

  const displayName = app.session.me.value?.displayName ?? '';
  return (
    <div class={`app${main ? ' has-main' : ''}`}>
      {first === 'chat' && second && !third && (
        <button
          type="button"
          class="skip-link"
          onClick={() => (document.querySelector<HTMLElement>('.composer textarea') ?? document.querySelector<HTMLElement>('.messages'))?.focus()}
        >
          Skip to the message box
        </button>
      )}
      <ConnectionBanner />
      <aside class="sidebar" aria-label="Chats and settings">
        <header class="sidebar-header">
          <h1 class="brand">Parley</h1>
          <nav class="toolbar" aria-label="Main">
            {TOOLBAR.filter((l) => !l.admin || app.session.me.value?.isAdmin).map((l) => (
              <a
                key={l.page}
                class="icon-button"
                href={`#/${l.page}`}
                aria-current={first === l.page ? 'page' : undefined}
                aria-label={l.label ? l.label + displayName : l.title}
                title={l.title}
              >
                {l.icon}
              </a>
            ))}
            <button
              type="button"
              class="icon-button"
              aria-label="Keyboard shortcuts"
              aria-keyshortcuts="?"
              title="Keyboard shortcuts (?)"
              onClick={() => setHelp(true)}
            >
              ?
            </button>
          </nav>
        </header>
        <NotifyOffer />
        <ChatList />
      </aside>
      <main class="main">
        {main ?? (
          <div class="pane placeholder">
            <p>Choose a chat, or start one with +.</p>
          </div>
        )}
      </main>
      <Notice />
      <CallPanel />
      {help && <HelpSheet onClose={() => setHelp(false)} />}
    </div>
  );
}

/** Opens the chat `step` rows above (-1) or below (1) the open one in the list, as shown; from none, the first. */
function nextChat(step: -1 | 1, go: (hash: string) => void) {
  const rows = Array.from(document.querySelectorAll<HTMLAnchorElement>('.chat-list a.chat-row'));
  if (rows.length === 0) return;
  const at = rows.findIndex((r) => r.getAttribute('aria-current') === 'page');
  const to = rows[at < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, at + step))]!;
  if (to !== rows[at]) go(to.getAttribute('href')!);
}

function SavedRedirect() {
  const saved = useApp().chats.chatList.value.find((c) => c.kind === 'self');
  useEffect(() => {
    if (saved) location.replace(`#/chat/${encodeURIComponent(saved.id)}`);
  }, [saved?.id]);
  return (
    <div class="pane placeholder">
      <p>Saved messages are not available.</p>
    </div>
  );
}

function ConnectionBanner() {
  const { connection, outbox } = useApp().connection;
  const c = connection.value;
  if (c === 'online') return null;
  const queued = outbox.value.filter((p) => p.state === 'pending').length;
  return (
    <div class={`banner ${c}`} role="status" aria-live="polite">
      {c === 'offline' ? 'Offline. Reconnecting when the network is back' : c === 'unreachable' ? "Can't reach the server, retrying…" : 'Connecting…'}
      {queued > 0 && ` · ${queued} message${queued > 1 ? 's' : ''} waiting to be sent`}
    </div>
  );
}

function Notice() {
  const { notice } = useApp();
  const text = notice.value;
  useEffect(() => {
    if (!text) return;
    const t = setTimeout(() => (notice.value = null), 6000);
    return () => clearTimeout(t);
  }, [text]);
  if (!text) return null;
  return (
    <div class="notice" role="alert">
      {text}
      <button type="button" class="icon-button" aria-label="Dismiss" onClick={() => (notice.value = null)}>
        ✕
      </button>
    </div>
  );
}
