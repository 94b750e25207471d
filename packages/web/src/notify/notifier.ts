import { signal } from '@preact/signals';
import type { Chat, Message } from '@parley/sdk';

/** What the browser lets this page do about notifications. */
export type Permission = NotificationPermission | 'unsupported';

const DISMISSED_KEY = 'parley.notify.dismissed';
/** A message older than this when it arrives came through catching up, not live: no notification. */
const FRESH_MS = 60_000;

function currentPermission(): Permission {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

/** A message's words for a notification: its text, or what it carries. */
export function preview(m: Message): string {
  if (m.text) return m.text.length > 140 ? `${m.text.slice(0, 139)}…` : m.text;
  const a = m.attachments?.[0];
  if (!a) return 'New message';
  if (a.mimeType.startsWith('image/')) return 'Photo';
  if (a.mimeType.startsWith('video/')) return 'Video';
  if (a.mimeType.startsWith('audio/')) return 'Voice message';
  return a.name;
}

/** Whether a muted chat keeps quiet about this message: one that mentions me notifies all the same. */
export function mutedFor(chat: Chat, m: Message, myId: string | undefined): boolean {
  return chat.muted && !(myId !== undefined && m.mentions?.includes(myId));
}

/** A short two-note chime from WebAudio: no sound file to ship. */
function chime(): void {
  try {
    const ctx = new AudioContext();
    const gain = ctx.createGain();
    gain.connect(ctx.destination);
    gain.gain.setValueAtTime(0.0001, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.35);
    for (const [freq, at] of [
      [880, 0],
      [1320, 0.12],
    ] as const) {
      const osc = ctx.createOscillator();
      osc.frequency.value = freq;
      osc.connect(gain);
      osc.start(ctx.currentTime + at);
      osc.stop(ctx.currentTime + at + 0.2);
    }
    setTimeout(() => void ctx.close(), 600);
  } catch {
    // No audio here: the notification alone does.
  }
}

/**
 * Desktop notifications for new messages: asked for only when the reader says yes to the offer in
 * the chat list (never on load), shown for others' messages that arrive live in a chat that is not
 * muted and not open in a visible page, one per chat (a newer one replaces it), with a chime.
 * A click brings the page forward on that chat.
 */
export function createNotifier(open: (chatId: string) => void) {
  const permission = signal<Permission>(currentPermission());
  const dismissed = signal(typeof localStorage !== 'undefined' && localStorage.getItem(DISMISSED_KEY) === '1');
  return {
    permission,
    /** Whether to offer notifications: possible, not decided, not turned down here. */
    get offer(): boolean {
      return permission.value === 'default' && !dismissed.value;
    },
    async ask(): Promise<void> {
      if (typeof Notification === 'undefined') return;
      permission.value = await Notification.requestPermission();
    },
    dismiss(): void {
      localStorage.setItem(DISMISSED_KEY, '1');
      dismissed.value = true;
    },
    /** A new message in a chat; `sender` is the name to show. */
    arrived(chat: Chat, m: Message, opts: { myId: string | undefined; openChatId: string | null; sender: string }): void {
      if (m.senderId === opts.myId || mutedFor(chat, m, opts.myId) || m.deletedAt) return;
      if (document.visibilityState === 'visible' && document.hasFocus() && opts.openChatId === chat.id) return;
      if (Date.now() - Date.parse(m.createdAt) > FRESH_MS) return;
      permission.value = currentPermission();
      if (permission.value !== 'granted') return;
      const title = chat.kind === 'private' || chat.kind === 'channel' ? chat.title : `${opts.sender} in ${chat.title}`;
      const n = new Notification(title, { body: preview(m), tag: `chat-${chat.id}` });
      n.onclick = () => {
        window.focus();
        open(chat.id);
        n.close();
      };
      chime();
    },
  };
}
export type Notifier = ReturnType<typeof createNotifier>;
