import { initials } from './format.ts';

export function Avatar({ name, self, online }: { name: string; self?: boolean; online?: boolean }) {
  return (
    <span class={`avatar${self ? ' self' : ''}`} aria-hidden="true">
      {self ? '★' : initials(name)}
      {online !== undefined && <span class={`dot${online ? ' online' : ''}`} />}
    </span>
  );
}
