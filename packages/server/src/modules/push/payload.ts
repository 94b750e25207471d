import type { Message } from '@parley/protocol';
import type { ChatsTable } from '../../adapters/db/schema.ts';

/** The most code points of a message's text a notification shows. */
export const PUSH_BODY_LENGTH = 140;

/** What the service worker shows (docs/push.md): encrypted by web-push for the subscription alone. */
export interface PushPayload {
  chatId: string;
  title: string;
  body: string;
}

/** A message's words for a notification: its text, or what it carries. */
function preview(m: Pick<Message, 'text' | 'attachments'>): string {
  const chars = [...(m.text ?? '')];
  if (chars.length > 0) return chars.length > PUSH_BODY_LENGTH ? `${chars.slice(0, PUSH_BODY_LENGTH - 1).join('')}…` : chars.join('');
  const a = m.attachments?.[0];
  if (!a) return 'New message';
  if (a.mimeType.startsWith('image/')) return 'Photo';
  if (a.mimeType.startsWith('video/')) return 'Video';
  if (a.mimeType.startsWith('audio/')) return 'Voice message';
  return a.name;
}

/**
 * The notification for a new message: the sender's name (and the group's), and the text, except in an
 * end-to-end encrypted chat, whose notification says only "New message".
 */
export function pushPayload(
  chat: Pick<ChatsTable, 'kind' | 'title' | 'e2ee'>,
  message: Pick<Message, 'chatId' | 'text' | 'attachments'>,
  senderName: string,
): PushPayload {
  const title = chat.kind === 'group' && chat.title ? `${senderName} in ${chat.title}` : senderName;
  const body = Number(chat.e2ee ?? 0) === 1 ? 'New message' : preview(message);
  return { chatId: message.chatId, title, body };
}
