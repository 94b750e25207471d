// Parley's service worker, built as its own file and served at /sw.js (scope /): keeps the app shell
// so the page starts offline, and shows web push notifications (docs/push.md). It imports only types.
import type { ExtendableEvent, NotificationEvent, OpenChatMessage, PushEvent, ServiceWorkerScope } from './sw-types.ts';

const sw = self as unknown as ServiceWorkerScope;

/** One cache for the shell; a new name (with a change to how it is filled) drops the old one. */
const SHELL_CACHE = 'parley-shell-v1';
/** What the shell needs besides the page and the assets it names. */
const STATIC = ['/manifest.webmanifest', '/favicon.svg', '/icon-192.png', '/icon-512.png', '/icon-maskable-512.png'];

/** The page and every built asset its HTML names (the entry script, its stylesheet, preloaded chunks). */
async function cacheShell(): Promise<void> {
  const cache = await caches.open(SHELL_CACHE);
  const page = await fetch('/', { cache: 'no-cache', headers: { accept: 'text/html' } });
  if (!page.ok) throw new Error(`The page answered ${page.status}`);
  const html = await page.clone().text();
  const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  await cache.addAll([...new Set([...assets, ...STATIC])]);
  await cache.put('/', page);
}

sw.addEventListener('install', (e) => {
  e.waitUntil(cacheShell().then(() => sw.skipWaiting()));
});

sw.addEventListener('activate', (e: ExtendableEvent) => {
  e.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name !== SHELL_CACHE) await caches.delete(name);
      await sw.clients.claim();
    })(),
  );
});

/** Shown when the page is neither reachable nor cached (the worker was installed, then the cache cleared). */
function offlinePage(): Response {
  const html =
    '<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>Parley: offline</title><body><h1>Parley is offline</h1><p>The server cannot be reached. Try again once you are back online.</p></body></html>';
  return new Response(html, { status: 503, headers: { 'content-type': 'text/html; charset=utf-8' } });
}

/** The page: from the network (and kept), else the kept one. */
async function navigate(request: Request): Promise<Response> {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const res = await fetch(request);
    if (res.ok && (res.headers.get('content-type') ?? '').includes('text/html')) await cache.put('/', res.clone());
    return res;
  } catch {
    return (await cache.match('/')) ?? offlinePage();
  }
}

/** Built assets never change (their names carry a hash): the kept copy, else the network's, kept. */
async function asset(request: Request): Promise<Response> {
  const cache = await caches.open(SHELL_CACHE);
  const kept = await cache.match(request);
  if (kept) return kept;
  const res = await fetch(request);
  if (res.ok) await cache.put(request, res.clone());
  return res;
}

/** Icons, the manifest: the network's when it answers, else the kept copy. */
async function fresh(request: Request): Promise<Response> {
  try {
    return await fetch(request);
  } catch (err) {
    const kept = await caches.match(request);
    if (kept) return kept;
    throw err;
  }
}

sw.addEventListener('fetch', (e) => {
  const { request } = e;
  const url = new URL(request.url);
  // The API (and the socket) are the app's own business: always the network.
  if (request.method !== 'GET' || url.origin !== sw.location.origin || url.pathname.startsWith('/api/')) return;
  if (request.mode === 'navigate') e.respondWith(navigate(request));
  else if (url.pathname.startsWith('/assets/')) e.respondWith(asset(request));
  else if (STATIC.includes(url.pathname)) e.respondWith(fresh(request));
});

interface PushPayload {
  chatId: string;
  title: string;
  body: string;
}

function readPayload(e: PushEvent): PushPayload | null {
  try {
    const p = e.data?.json() as Partial<PushPayload> | undefined;
    return p && typeof p.chatId === 'string' && typeof p.title === 'string' && typeof p.body === 'string' ? (p as PushPayload) : null;
  } catch {
    return null;
  }
}

sw.addEventListener('push', (e) => {
  const p = readPayload(e);
  // Every push shows something (browsers require it); one per chat, a newer one replacing it.
  const title = p?.title ?? 'Parley';
  e.waitUntil(
    sw.registration.showNotification(title, {
      body: p?.body ?? 'New message',
      tag: p ? `chat-${p.chatId}` : 'parley',
      icon: '/icon-192.png',
      data: p ? { chatId: p.chatId } : {},
    }),
  );
});

/** Brings Parley forward on the chat: an open window is told to go there, else a new one opens on it. */
async function openChat(chatId: string | undefined): Promise<void> {
  const url = chatId ? `/#/chat/${encodeURIComponent(chatId)}` : '/';
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const target = windows.find((w) => w.focused) ?? windows[0];
  if (!target) {
    await sw.clients.openWindow(url);
    return;
  }
  if (chatId) target.postMessage({ type: 'parley.open-chat', chatId } satisfies OpenChatMessage);
  await target.focus();
}

sw.addEventListener('notificationclick', (e: NotificationEvent) => {
  e.notification.close();
  const data = e.notification.data as { chatId?: string } | null;
  e.waitUntil(openChat(data?.chatId));
});
