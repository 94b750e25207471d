import { useEffect, useRef, useState } from 'preact/hooks';
import type { User } from '@parley/sdk';
import { useServices } from '../app-context.ts';
import { Avatar } from './avatar.tsx';

/** How long typing rests before people are looked up. */
const SEARCH_DELAY_MS = 150;

/** The word being typed: the whole value, or for a list the part after the last comma. */
export function currentWord(value: string, multiple: boolean): string {
  return (multiple ? value.slice(value.lastIndexOf(',') + 1) : value).trim();
}

/** The value with the word being typed replaced by a chosen username (and, for a list, room for the next). */
export function withChosen(value: string, username: string, multiple: boolean): string {
  if (!multiple) return username;
  const done = value.slice(0, value.lastIndexOf(',') + 1);
  return `${done}${done ? ' ' : ''}${username}, `;
}

let ids = 0;

/**
 * A username field that suggests people as you type (by username or display name, from
 * searchUsers): arrow keys move through them, Enter or a click takes one. With `multiple`, the
 * field holds usernames separated by commas and suggestions are for the one being typed. The
 * form reads the field as before, so typing a full username still works.
 */
export function PeopleInput({
  name,
  label,
  placeholder,
  multiple = false,
  required = false,
}: {
  name: string;
  label: string;
  placeholder?: string;
  multiple?: boolean;
  required?: boolean;
}) {
  const { client } = useServices();
  const [value, setValue] = useState('');
  const [found, setFound] = useState<User[]>([]);
  const [active, setActive] = useState(0);
  const [open, setOpen] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const asked = useRef(0);
  const [listId] = useState(() => `people-${++ids}`);

  const word = currentWord(value, multiple).replace(/^@/, '');
  useEffect(() => {
    if (!word) return setFound([]);
    const n = ++asked.current;
    const timer = setTimeout(() => {
      client
        .searchUsers({ q: word, limit: 8 })
        .then(({ users }) => {
          if (n !== asked.current) return;
          setFound(users.filter((u) => u.username !== null));
          setActive(0);
        })
        .catch(() => n === asked.current && setFound([]));
    }, SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [word]);

  // Nothing to suggest once the word is a whole username of those found: it is picked.
  const picked = found.some((u) => u.username === word.toLowerCase());
  const shown = open && word !== '' && !picked ? found : [];
  function choose(u: User): void {
    setValue(withChosen(value, u.username ?? '', multiple));
    setFound([]);
    setOpen(false);
    input.current?.focus();
  }

  return (
    <label class="people-input">
      {label}
      <input
        ref={input}
        name={name}
        value={value}
        required={required}
        placeholder={placeholder}
        autocomplete="off"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={shown.length > 0}
        aria-controls={listId}
        aria-activedescendant={shown.length > 0 ? `${listId}-${active}` : undefined}
        onInput={(e) => {
          setValue((e.target as HTMLInputElement).value);
          setOpen(true);
        }}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (shown.length === 0) return;
          if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((i) => (i + (e.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length);
          } else if (e.key === 'Enter' || (e.key === 'Tab' && !e.shiftKey)) {
            e.preventDefault();
            choose(shown[active] ?? shown[0]!);
          } else if (e.key === 'Escape') {
            e.preventDefault();
            setOpen(false);
          }
        }}
      />
      {shown.length > 0 && (
        <ul class="people-found" role="listbox" id={listId} aria-label="People">
          {shown.map((u, i) => (
            <li
              key={u.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(u);
              }}
            >
              <Avatar name={u.displayName} fileId={u.avatarFileId} />
              <span class="who">
                <span class="name">{u.displayName}</span>
                <span class="username">@{u.username}</span>
              </span>
            </li>
          ))}
        </ul>
      )}
    </label>
  );
}
