import { NOTICE_TYPES, type ChatEvent, type ChatNotice, type Message } from '@parley/sdk';

/** The loaded window of a chat's history: a contiguous run of messages, maybe with more on either side. */
export interface TimelineState {
  messages: Message[];
  /** the chat's changes among those messages (renamed, added, removed…), in position order */
  notices: ChatNotice[];
  hasOlder: boolean;
  hasNewer: boolean;
  loading: 'idle' | 'initial' | 'older' | 'newer';
  loaded: boolean;
}

export const EMPTY_TIMELINE: TimelineState = { messages: [], notices: [], hasOlder: false, hasNewer: false, loading: 'idle', loaded: false };

/** Both runs as one, in order, a message in both taken from `b`. */
export function mergeMessages(a: Message[], b: Message[]): Message[] {
  const byId = new Map<string, Message>();
  for (const m of a) byId.set(m.id, m);
  for (const m of b) byId.set(m.id, m);
  return [...byId.values()].sort((x, y) => x.seq - y.seq);
}

/** The window with a loaded message replaced by its new version; unchanged when it is not loaded. */
export function replaceMessage(s: TimelineState, m: Message): TimelineState {
  const i = s.messages.findIndex((x) => x.id === m.id);
  if (i < 0) return s;
  const messages = s.messages.slice();
  messages[i] = m;
  return { ...s, messages };
}

/** A new message joins the window only when the window reaches the newest message. */
export function appendMessage(s: TimelineState, m: Message): TimelineState {
  if (!s.loaded || s.hasNewer) return s;
  return { ...s, messages: mergeMessages(s.messages, [m]) };
}

/** A live or synced change: an edit replaces its message, a new message is appended. */
export function applyMessage(s: TimelineState, m: Message, created: boolean): TimelineState {
  const replaced = replaceMessage(s, m);
  if (replaced !== s || !created) return replaced;
  return appendMessage(s, m);
}

/** Both runs of notices as one, in position order, each once. */
export function mergeNotices(a: ChatNotice[], b: ChatNotice[]): ChatNotice[] {
  const bySeq = new Map<number, ChatNotice>();
  for (const n of [...a, ...b]) bySeq.set(n.seq, n);
  return [...bySeq.values()].sort((x, y) => x.seq - y.seq);
}

/** A chat event a timeline shows as a service line, as a notice; undefined for the others. */
export function noticeOf(e: ChatEvent): ChatNotice | undefined {
  if (!(NOTICE_TYPES as readonly string[]).includes(e.type)) return undefined;
  const { seq, actorId, at, member, title, avatarFileId, call } = e;
  return {
    type: e.type as ChatNotice['type'],
    seq,
    actorId,
    at,
    ...(member ? { member } : {}),
    ...(title !== undefined ? { title } : {}),
    ...(avatarFileId !== undefined ? { avatarFileId } : {}),
    ...(call ? { call } : {}),
  };
}

/** A live change joins the window as a service line only when the window reaches the newest message. */
export function appendNotice(s: TimelineState, n: ChatNotice): TimelineState {
  if (!s.loaded || s.hasNewer) return s;
  return { ...s, notices: mergeNotices(s.notices, [n]) };
}
