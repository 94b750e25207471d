import type { Attachment, Chat } from '@parley/sdk';
import type { AppModel } from '../state/app-model.ts';
import { userName } from '../state/people-model.ts';
import { useApp } from './app-context.ts';
import { Avatar } from './shared/avatar.tsx';
import { formatWhen } from './shared/format.ts';
import { SearchBox } from './search/search-box.tsx';
import { searchQuery } from './search/search-state.ts';

/** "Photo", "Video", "Voice message", "report.pdf", "3 files": a message with no text, in the list. */
function attachmentsLabel(list: Attachment[]): string {
  if (list.length === 0) return '';
  if (list.length > 1) return `${list.length} files`;
  const a = list[0]!;
  if (a.voice) return 'Voice message';
  if (a.mimeType.startsWith('image/')) return 'Photo';
  if (a.mimeType.startsWith('video/')) return 'Video';
  return a.name;
}

function preview(app: AppModel, c: Chat): string {
  const m = c.lastMessage;
  if (!m) return c.kind === 'self' ? 'Notes to yourself' : 'No messages yet';
  const text = m.deletedAt ? 'Message deleted' : m.text || attachmentsLabel(m.attachments ?? []);
  const who = m.senderId === app.session.me.value?.id ? 'You: ' : c.kind === 'group' ? `${userName(app.people, m.senderId)}: ` : '';
  return who + text;
}

/** The search field, then the chats, or the search results while the field is not blank. */
export function ChatList() {
  return (
    <>
      <SearchBox />
      {searchQuery.value.trim() === '' && <Chats />}
    </>
  );
}

function Chats() {
  const app = useApp();
  const { openChatId, typing } = app.chats;
  const presence = app.people.presence;
  const chats = app.chats.chatList.value;
  // Nothing but saved messages yet: say how to begin (an admin's first step is to invite people).
  const newcomer = chats.every((c) => c.kind === 'self');
  const hint = newcomer && (
    <div class="onboarding" role="note">
      {app.session.me.value?.isAdmin && (
        <p>
          Invite your friends: <a href="#/invites">make an invite link</a> and send it to them.
        </p>
      )}
      <p>
        <a href="#/new">Start a chat</a> with someone already here.
      </p>
    </div>
  );
  if (chats.length === 0) return hint || <p class="empty">No chats yet. Start one with the + button.</p>;
  return (
    <>
      {hint}
      <ul class="chat-list" aria-label="Chats">
        {chats.map((c) => {
          const online = c.kind === 'private' && c.peer ? (presence.value[c.peer.id]?.online ?? false) : undefined;
          const isTyping = Object.keys(typing.value[c.id] ?? {}).length > 0;
          const unread = c.unreadCount > 0 && !c.muted ? c.unreadCount : 0;
          // Telegram's "@": shown in a muted chat too, as a mention notifies there.
          const mentioned = c.unreadCount > 0 && (c.unreadMentions ?? 0) > 0;
          // The row's name is what it shows, with the states the eye reads from the dot and the badges said in words.
          const status = `${unread ? `, ${unread} unread` : ''}${mentioned ? ', you were mentioned' : ''}`;
          // The open chat shows its draft in the composer; the others say they have one.
          const draft = openChatId.value === c.id ? '' : app.drafts.drafts.value[c.id];
          return (
            <li key={c.id}>
              <a
                href={`#/chat/${encodeURIComponent(c.id)}`}
                class={`chat-row${openChatId.value === c.id ? ' active' : ''}`}
                aria-current={openChatId.value === c.id ? 'page' : undefined}
                data-chat-id={c.id}
              >
                <Avatar name={c.title} self={c.kind === 'self'} online={online} fileId={c.avatarFileId ?? c.peer?.avatarFileId} />
                <span class="chat-row-body">
                  <span class="chat-row-top">
                    <span class="chat-title">
                      {c.title}
                      {online && <span class="visually-hidden">, online</span>}
                    </span>
                    {c.lastMessage && <time class="when">{formatWhen(c.lastMessage.createdAt)}</time>}
                  </span>
                  <span class="chat-row-bottom">
                    <span class={`preview${isTyping ? ' typing' : ''}`}>
                      {isTyping ? (
                        'typing…'
                      ) : draft ? (
                        <>
                          <span class="draft-label">Draft:</span> {draft}
                        </>
                      ) : (
                        preview(app, c)
                      )}
                    </span>
                    {mentioned && (
                      <span class="badge mention" aria-hidden="true" title="You were mentioned">
                        @
                      </span>
                    )}
                    {unread > 0 && (
                      <span class="badge" aria-hidden="true">
                        {unread > 99 ? '99+' : unread}
                      </span>
                    )}
                    {status && <span class="visually-hidden">{status}</span>}
                  </span>
                </span>
              </a>
            </li>
          );
        })}
      </ul>
    </>
  );
}
