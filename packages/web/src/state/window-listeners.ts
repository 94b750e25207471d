import type { AppModel } from './app-model.ts';

/** Connects the app to the page: the address, the network, and the other tabs. Returns a function that disconnects it. */
export function installWindowListeners(app: AppModel): () => void {
  const listeners: [string, (e: Event) => void][] = [
    ['hashchange', () => app.router.sync(location.hash)],
    ['storage', (e) => app.session.storageChanged((e as StorageEvent).key)],
    ['offline', () => app.connection.wentOffline()],
    ['online', () => app.cameOnline()],
  ];
  for (const [type, fn] of listeners) addEventListener(type, fn);
  return () => {
    for (const [type, fn] of listeners) removeEventListener(type, fn);
  };
}
