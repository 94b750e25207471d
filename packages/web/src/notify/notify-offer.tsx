import { useApp } from '../ui/app-context.ts';
import './notify.css';

/**
 * The offer to turn on notifications, in the chat list once there is someone to hear from: the
 * browser's question comes only when the reader says yes here, never on load.
 */
export function NotifyOffer() {
  const app = useApp();
  const { notify } = app;
  const hasChats = app.chats.chatList.value.some((c) => c.kind !== 'self');
  if (!hasChats || !notify.offer) return null;
  return (
    <div class="notify-offer" role="region" aria-label="Notifications">
      <p>Get notified of new messages while Parley is in the background.</p>
      <div class="notify-actions">
        <button type="button" class="primary" onClick={() => void notify.ask()}>
          Turn on notifications
        </button>
        <button type="button" onClick={() => notify.dismiss()}>
          Not now
        </button>
      </div>
    </div>
  );
}
