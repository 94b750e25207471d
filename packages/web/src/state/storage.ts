import type { PendingMessage, SessionTokens } from '@parley/sdk';

// Tokens live in localStorage so a reload (or a new tab) keeps the session; scroll positions are
// per tab, in sessionStorage.
const SESSION_KEY = 'parley.session';
const DEVICE_KEY = 'parley.device';

function read<T>(store: Storage, key: string): T | null {
  try {
    const raw = store.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

function write(store: Storage, key: string, value: unknown): void {
  try {
    if (value === null || value === undefined) store.removeItem(key);
    else store.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the app still works, it just forgets on reload.
  }
}

export const storage = {
  session: () => read<SessionTokens>(localStorage, SESSION_KEY),
  setSession: (s: SessionTokens | null) => write(localStorage, SESSION_KEY, s),
  isSessionKey: (key: string | null) => key === SESSION_KEY,
  /** The session id this browser had, so signing in again re-uses that device entry. */
  deviceSessionId: () => read<string>(localStorage, DEVICE_KEY),
  setDeviceSessionId: (id: string) => write(localStorage, DEVICE_KEY, id),
  userSeq: (userId: string) => read<number>(localStorage, `parley.userSeq.${userId}`) ?? 0,
  setUserSeq: (userId: string, seq: number) => write(localStorage, `parley.userSeq.${userId}`, seq),
  outbox: (userId: string) => read<PendingMessage[]>(localStorage, `parley.outbox.${userId}`) ?? [],
  setOutbox: (userId: string, items: PendingMessage[]) => write(localStorage, `parley.outbox.${userId}`, items.length ? items : null),
  /** Unsent text per chat, kept across chat switches and reloads until sent or signed out. */
  drafts: (userId: string) => read<Record<string, string>>(localStorage, `parley.drafts.${userId}`) ?? {},
  setDrafts: (userId: string, drafts: Record<string, string>) => write(localStorage, `parley.drafts.${userId}`, Object.keys(drafts).length ? drafts : null),
  scroll: (chatId: string) => read<ScrollPosition>(sessionStorage, `parley.scroll.${chatId}`),
  setScroll: (chatId: string, pos: ScrollPosition) => write(sessionStorage, `parley.scroll.${chatId}`, pos),
  clearUser(userId: string) {
    write(localStorage, `parley.userSeq.${userId}`, null);
    write(localStorage, `parley.outbox.${userId}`, null);
    write(localStorage, `parley.drafts.${userId}`, null);
  },
};

/** Where a chat was scrolled to: at the newest message, or a message and how far above the top it was. */
export type ScrollPosition = { bottom: true } | { bottom: false; seq: number; offset: number };

/** "Chrome on Linux", shown in the sessions list of the user's other devices. */
export function deviceName(ua = navigator.userAgent): string {
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /Firefox\//.test(ua)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : 'Browser';
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad/.test(ua)
      ? 'iOS'
      : /Mac OS X/.test(ua)
        ? 'macOS'
        : /Windows/.test(ua)
          ? 'Windows'
          : /Linux/.test(ua)
            ? 'Linux'
            : '';
  return os ? `${browser} on ${os}` : browser;
}

export type AppStorage = typeof storage;
