import { signal } from '@preact/signals';
import { createModel } from './create-model.ts';

export interface Route {
  path: string[];
  query: URLSearchParams;
}

/** "#/chat/c1?x=1" as its path segments and query. */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

/**
 * The app's address lives in the hash, so any path the server serves opens the same page.
 * `navigate` sets the address (location.hash in the page); the page reports changes back with `sync`.
 */
export const RouterModel = createModel((initialHash: string, navigate: (hash: string) => void) => {
  const route = signal(parseHash(initialHash));
  return {
    route,
    sync(hash: string) {
      route.value = parseHash(hash);
    },
    go(hash: string) {
      navigate(hash);
    },
  };
});
export type RouterModel = InstanceType<typeof RouterModel>;
