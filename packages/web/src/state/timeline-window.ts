import type { Message } from '@parley/sdk';

/** The loaded window of a chat's history: a contiguous run of messages, maybe with more on either side. */
export interface TimelineState {
  messages: Message[];
  hasOlder: boolean;
  hasNewer: boolean;
  loading: 'idle' | 'initial' | 'older' | 'newer';
  loaded: boolean;
}

export const EMPTY_TIMELINE: TimelineState = { messages: [], hasOlder: false, hasNewer: false, loading: 'idle', loaded: false };

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
