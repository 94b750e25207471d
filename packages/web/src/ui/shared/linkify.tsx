import { splitLinks } from './split-links.ts';

/** Message text as text nodes, with http(s) links made clickable; nothing is ever parsed as HTML. */
export function Linkified({ text }: { text: string }) {
  return (
    <>
      {splitLinks(text).map((p, i) =>
        typeof p === 'string' ? (
          p
        ) : (
          <a key={i} href={p.href} target="_blank" rel="noopener noreferrer nofollow">
            {p.href}
          </a>
        ),
      )}
    </>
  );
}
