import { useFileUrl } from '../message-list/use-file-url.ts';
import { initials } from './format.ts';

/** A round picture: the profile picture when there is one (initials until it has loaded), else initials. */
export function Avatar({ name, self, online, fileId, large }: { name: string; self?: boolean; online?: boolean; fileId?: string | null; large?: boolean }) {
  const { url } = useFileUrl(fileId ?? '', !self && !!fileId);
  return (
    <span class={`avatar${self ? ' self' : ''}${large ? ' large' : ''}`} aria-hidden="true">
      {url && fileId ? <img src={url} alt="" /> : self ? '★' : initials(name)}
      {online !== undefined && <span class={`dot${online ? ' online' : ''}`} />}
    </span>
  );
}
