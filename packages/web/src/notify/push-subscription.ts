import type { ParleyClient } from '@parley/sdk';

// Loaded only when notifications are on: the first page's script stays as it was.

function fromBase64Url(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function sameKey(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}

async function registration(): Promise<ServiceWorkerRegistration | undefined> {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return undefined;
  const reg = await navigator.serviceWorker.getRegistration('/');
  return reg && 'pushManager' in reg ? reg : undefined;
}

/**
 * Subscribes this browser to web push with the server's VAPID key (a subscription made with another
 * key is replaced) and hands the subscription to this session. Without a push service (some
 * browsers, private windows) it does nothing: the page still notifies while it is open.
 */
export async function subscribeToPush(client: ParleyClient): Promise<void> {
  const reg = await registration();
  if (!reg) return;
  await navigator.serviceWorker.ready;
  const key = fromBase64Url((await client.getPushConfig()).publicKey);
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameKey(sub.options.applicationServerKey, key)) {
    await sub.unsubscribe();
    sub = null;
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  const json = sub.toJSON();
  if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth) return;
  await client.subscribePush({ endpoint: json.endpoint, keys: { p256dh: json.keys.p256dh, auth: json.keys.auth } });
}

/** Ends this browser's push subscription (on sign-out: the server drops the session's with the session). */
export async function unsubscribeFromPush(client: ParleyClient): Promise<void> {
  const sub = await (await registration())?.pushManager.getSubscription();
  if (!sub) return;
  await client.unsubscribePush({ endpoint: sub.endpoint }).catch(() => {});
  await sub.unsubscribe();
}
