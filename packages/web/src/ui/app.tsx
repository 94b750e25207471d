import { useEffect } from 'preact/hooks';
import { auth, chatList, connection, me, notice, outbox } from '../state/app-state.ts';
import { route } from '../state/router.ts';
import { LoginScreen, RegisterScreen } from './auth-screens.tsx';
import { ChatList } from './chat-list.tsx';
import { ChatView } from './chat-view.tsx';
import { ChatInfoScreen } from './chat-info.tsx';
import { NewChatScreen } from './new-chat.tsx';
import { SessionsScreen } from './sessions-screen.tsx';
import { ProfileScreen } from './profile-screen.tsx';
import { InvitesScreen } from './invites-screen.tsx';

export function App() {
  const state = auth.value;
  const [first, second, third] = route.value.path;
  if (state === 'loading') return <div class="splash" aria-busy="true" aria-label="Loading" />;
  if (state === 'signed-out') return first === 'register' ? <RegisterScreen /> : <LoginScreen />;

  let main = null;
  if (first === 'chat' && second && third === 'info') main = <ChatInfoScreen key={`${second}-info`} chatId={second} />;
  else if (first === 'chat' && second) main = <ChatView key={second} chatId={second} />;
  else if (first === 'saved') main = <SavedRedirect />;
  else if (first === 'new') main = <NewChatScreen />;
  else if (first === 'sessions') main = <SessionsScreen />;
  else if (first === 'profile') main = <ProfileScreen />;
  else if (first === 'invites') main = <InvitesScreen />;

  return (
    <div class={`app${main ? ' has-main' : ''}`}>
      <ConnectionBanner />
      <aside class="sidebar" aria-label="Chats and settings">
        <header class="sidebar-header">
          <h1 class="brand">Parley</h1>
          <nav class="toolbar" aria-label="Main">
            <a class="icon-button" href="#/new" aria-current={first === 'new' ? 'page' : undefined} aria-label="New chat" title="New chat">
              +
            </a>
            <a class="icon-button" href="#/saved" aria-current={first === 'saved' ? 'page' : undefined} aria-label="Saved messages" title="Saved messages">
              ★
            </a>
            <a class="icon-button" href="#/invites" aria-current={first === 'invites' ? 'page' : undefined} aria-label="Invites" title="Invites">
              ✉
            </a>
            <a class="icon-button" href="#/sessions" aria-current={first === 'sessions' ? 'page' : undefined} aria-label="Devices" title="Devices">
              ⚙
            </a>
            <a class="icon-button" href="#/profile" aria-current={first === 'profile' ? 'page' : undefined} aria-label={`Profile of ${me.value?.displayName ?? ''}`} title="Profile">
              ☺
            </a>
          </nav>
        </header>
        <ChatList />
      </aside>
      <main class="main">{main ?? <div class="pane placeholder"><p>Choose a chat, or start one with +.</p></div>}</main>
      <Notice />
    </div>
  );
}

function SavedRedirect() {
  const saved = chatList.value.find((c) => c.kind === 'self');
  useEffect(() => {
    if (saved) location.replace(`#/chat/${encodeURIComponent(saved.id)}`);
  }, [saved?.id]);
  return <div class="pane placeholder"><p>Saved messages are not available.</p></div>;
}

function ConnectionBanner() {
  const c = connection.value;
  if (c === 'online') return null;
  const queued = outbox.value.filter((p) => p.state === 'pending').length;
  return (
    <div class={`banner ${c}`} role="status" aria-live="polite">
      {c === 'offline' ? 'Offline. Reconnecting when the network is back' : 'Connecting…'}
      {queued > 0 && ` · ${queued} message${queued > 1 ? 's' : ''} waiting to be sent`}
    </div>
  );
}

function Notice() {
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
