import { signal } from '@preact/signals';

/** The app's address lives in the hash, so any path the server serves opens the same page. */
export const route = signal(parse());

function parse(): { path: string[]; query: URLSearchParams } {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

addEventListener('hashchange', () => {
  route.value = parse();
});

export function go(hash: string): void {
  location.hash = hash;
}
