/// <reference types="vite/client" />
import type { OpenChatMessage } from './sw-types.ts';

/**
 * Installs the service worker (the offline shell and web push, src/sw/sw.ts) in a built page, and
 * opens the chat whose notification was clicked. The dev server has no /sw.js: nothing happens there.
 */
export function registerServiceWorker(open: (chatId: string) => void): void {
  if (!import.meta.env.PROD || typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', (e: MessageEvent<Partial<OpenChatMessage>>) => {
    if (e.data?.type === 'parley.open-chat' && typeof e.data.chatId === 'string') open(e.data.chatId);
  });
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
    // No worker (an insecure origin, a private window): the page works without the offline shell.
  });
}
