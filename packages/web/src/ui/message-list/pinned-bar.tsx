import { useEffect, useState } from 'preact/hooks';
import type { Chat, Message } from '@parley/sdk';
import { useServices } from '../app-context.ts';
import { preview } from '../../notify/notifier.ts';
import './message-extras.css';

/**
 * The bar over a chat's messages with its pins: the latest first; a click shows that message in the
 * timeline and moves the bar on to the next older pin (round to the latest again), as Telegram does.
 * Who may pin may unpin from here.
 */
export function PinnedBar({ chat, canPin, onJump, onUnpin }: { chat: Chat; canPin: boolean; onJump(m: Message): void; onUnpin(m: Message): void }) {
  const { app } = useServices();
  const pins = app.pins.pins(chat.id).value;
  const [index, setIndex] = useState(0);
  useEffect(() => {
    void app.pins.load(chat.id);
    setIndex(0);
  }, [chat.id]);
  if (!pins || pins.length === 0) return null;
  const i = Math.min(index, pins.length - 1);
  const m = pins[i]!;
  return (
    <div class="pinned-bar" role="region" aria-label="Pinned messages">
      <button
        type="button"
        class="pinned-current"
        title="Show this message"
        onClick={() => {
          onJump(m);
          setIndex((i + 1) % pins.length);
        }}
      >
        <strong>{pins.length > 1 ? `Pinned message ${i + 1} of ${pins.length}` : 'Pinned message'}</strong>
        <span class="snippet">{preview(m)}</span>
      </button>
      {canPin && (
        <button type="button" class="icon-button" aria-label="Unpin this message" title="Unpin" onClick={() => onUnpin(m)}>
          ✕
        </button>
      )}
    </div>
  );
}
