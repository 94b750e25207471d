import type { Chat } from '@parley/sdk';
import { useApp } from '../app-context.ts';
import './calls.css';

/** The private chat header's phone: calls the other member (busy while any call of mine goes on). */
export function CallButton({ chat }: { chat: Chat }) {
  const app = useApp();
  const peer = chat.kind === 'private' ? chat.peer : undefined;
  if (!peer || peer.deleted) return null;
  const current = app.calls.call.value;
  const busy = current !== null && current.phase !== 'ended';
  return (
    <button
      type="button"
      class="icon-button call-button"
      aria-label={`Call ${chat.title}`}
      title={busy ? 'A call is going on' : 'Voice call'}
      disabled={busy}
      onClick={() => void app.calls.start(chat.id, peer.id)}
    >
      ✆
    </button>
  );
}
