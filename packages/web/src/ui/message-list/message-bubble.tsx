import type { Attachment, Chat, Message, PendingMessage } from '@parley/sdk';
import { userName } from '../../state/people-model.ts';
import { useApp } from '../app-context.ts';
import { formatFull, formatTime } from '../shared/format.ts';
import { Linkified } from '../shared/linkify.tsx';
import { Attachments } from './attachments.tsx';

export interface MessageActions {
  reply(m: Message): void;
  edit(m: Message): void;
  remove(m: Message): void;
  /** Opens a photo or video in the viewer */
  view?(a: Attachment): void;
  /** Shows the message a reply quotes */
  jumpTo?(messageId: string): void;
  /** Puts my reaction on a message, or takes it back */
  react?(m: Message, emoji: string, on: boolean): void;
  /** Opens the chat picker to forward a message */
  forward?(m: Message): void;
  /** Pins a message in its chat, or unpins it */
  pin?(m: Message, on: boolean): void;
}

/** The reactions offered in a message's menu. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢'];

export function MessageBubble({
  m,
  active,
  highlighted,
  chat,
  mine,
  readBy,
  others,
  canModerate,
  actions,
  replyTo,
}: {
  m: Message;
  /** The timeline's one tab stop */
  active: boolean;
  /** Just jumped to from a reply's quote */
  highlighted?: boolean;
  chat: Chat;
  mine: boolean;
  /** How many of the chat's other members have read it, of how many */
  readBy: number;
  others: number;
  canModerate: boolean;
  actions: MessageActions;
  replyTo?: Message;
}) {
  const app = useApp();
  const deleted = m.deletedAt !== null;
  const showSender = !mine && chat.kind === 'group';
  const canPost = !(chat.kind === 'channel' && chat.role === 'subscriber');
  const read = others > 0 && readBy >= others;
  const status = mine && chat.kind !== 'self' && chat.kind !== 'channel' ? (read ? 'Read' : 'Sent') : null;
  // In a group, until everyone has read it: by how many so far.
  const mentionsMe = !deleted && !!m.mentions?.includes(app.session.me.value?.id ?? '');
  const statusText = status === 'Sent' && chat.kind === 'group' && readBy > 0 ? `Sent, read by ${readBy} of ${others}` : status;
  return (
    <article
      class={`msg${mine ? ' mine' : ''}${deleted ? ' deleted' : ''}${highlighted ? ' highlight' : ''}${mentionsMe ? ' mentioned' : ''}`}
      tabIndex={active ? 0 : -1}
      data-seq={m.seq}
      data-key={m.id}
      aria-label={`${mine ? 'You' : userName(app.people, m.senderId)} at ${formatTime(m.createdAt)}`}
    >
      {showSender && <div class="sender">{userName(app.people, m.senderId)}</div>}
      {m.forwarded && !deleted && <div class="forwarded">Forwarded from {m.forwarded.chatTitle ?? m.forwarded.senderName}</div>}
      {m.replyToId && !deleted && (
        <button type="button" class="quote" title="Go to the original message" onClick={() => m.replyToId && actions.jumpTo?.(m.replyToId)}>
          {replyTo ? (
            <>
              <strong>{replyTo.senderId === app.session.me.value?.id ? 'You' : userName(app.people, replyTo.senderId)}</strong>{' '}
              {replyTo.text ?? 'Message deleted'}
            </>
          ) : (
            'Reply to an earlier message'
          )}
        </button>
      )}
      {!deleted && m.attachments && m.attachments.length > 0 && <Attachments list={m.attachments} onOpen={actions.view} />}
      {(deleted || m.text) && <div class="text">{deleted ? <em>Message deleted</em> : <Linkified text={m.text ?? ''} />}</div>}
      {!deleted && m.reactions && m.reactions.length > 0 && (
        <div class="reactions">
          {m.reactions.map((r) => {
            const minePressed = r.userIds.includes(app.session.me.value?.id ?? '');
            const who = r.userIds.map((u) => (u === app.session.me.value?.id ? 'You' : userName(app.people, u))).join(', ');
            return (
              <button
                type="button"
                key={r.emoji}
                class={`reaction${minePressed ? ' mine' : ''}`}
                aria-pressed={minePressed}
                aria-label={`${r.emoji} ${r.count}`}
                title={r.count > r.userIds.length ? `${who} and ${r.count - r.userIds.length} more` : who}
                onClick={() => actions.react?.(m, r.emoji, !minePressed)}
              >
                {r.emoji} {r.count}
              </button>
            );
          })}
        </div>
      )}
      <div class="meta">
        {m.pinnedAt && !deleted && (
          <span class="pinned-mark" title="Pinned">
            📌<span class="visually-hidden">Pinned</span>
          </span>
        )}
        {m.editedAt && !deleted && <span class="edited">edited</span>}
        <time dateTime={m.createdAt} title={formatFull(m.createdAt)}>
          {formatTime(m.createdAt)}
        </time>
        {status && (
          <span class={`status ${status.toLowerCase()}`} title={statusText ?? status} data-status={status.toLowerCase()}>
            <span aria-hidden="true">{read ? '✓✓' : '✓'}</span>
            <span class="visually-hidden">{statusText}</span>
          </span>
        )}
      </div>
      {!deleted && (
        <div class="actions">
          {canPost && (
            <button type="button" onClick={() => actions.reply(m)} aria-label="Reply">
              Reply
            </button>
          )}
          {mine && (
            <button type="button" onClick={() => actions.edit(m)} aria-label="Edit">
              Edit
            </button>
          )}
          {(mine || canModerate) && (
            <button type="button" onClick={() => actions.remove(m)} aria-label="Delete for everyone">
              Delete
            </button>
          )}
        </div>
      )}
    </article>
  );
}

export function PendingBubble({ p }: { p: PendingMessage }) {
  const app = useApp();
  return (
    <article class={`msg mine ${p.state}`} data-pending={p.state}>
      {p.attachments && p.attachments.length > 0 && <Attachments list={p.attachments.map((a) => ({ ...a, size: a.size ?? 0 }))} />}
      {p.text && (
        <div class="text">
          <Linkified text={p.text} />
        </div>
      )}
      <div class="meta">
        {p.state === 'failed' ? (
          <>
            <span class="error" role="alert">
              Not sent{p.error ? `: ${p.error.message}` : ''}
            </span>
            <button type="button" class="link" onClick={() => app.connection.retry(p.clientMessageId)}>
              Retry
            </button>
          </>
        ) : (
          <span class="status pending" title="Sending" data-status="pending">
            sending…
          </span>
        )}
      </div>
    </article>
  );
}
