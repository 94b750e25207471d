import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentType } from 'preact';
import { activeOption, searchOptions, searchQuery } from './search-state.ts';
import './search.css';

/** The results panel is its own chunk: the first page does not carry it, the first search loads it. */
let panel: Promise<ComponentType> | null = null;
function loadPanel(): Promise<ComponentType> {
  return (panel ??= import('./search-results.tsx').then((m) => m.SearchResults));
}

/** Ctrl+K or Cmd+K: the shortcut that puts the focus in the search field, from anywhere. */
function isSearchShortcut(e: KeyboardEvent): boolean {
  return (e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k';
}

/** The search field at the top of the chat list, and below it the results while it is not blank. */
export function SearchBox() {
  const input = useRef<HTMLInputElement>(null);
  const [Panel, setPanel] = useState<ComponentType | null>(null);
  const [failed, setFailed] = useState(false);
  const open = searchQuery.value.trim() !== '';
  const active = searchOptions.value[activeOption.value];

  useEffect(() => {
    if (!open || Panel) return;
    loadPanel().then(
      (c) => setPanel(() => c),
      () => {
        panel = null;
        setFailed(true);
      },
    );
  }, [open]);

  // Signing out takes the chat list away: the next account starts with an empty field.
  useEffect(
    () => () => {
      searchQuery.value = '';
    },
    [],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!isSearchShortcut(e) || document.querySelector('dialog[open]')) return;
      e.preventDefault();
      input.current?.focus();
      input.current?.select();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);

  function onKeyDown(e: KeyboardEvent) {
    const n = searchOptions.value.length;
    if (e.key === 'Escape') {
      // Clears and leaves; the app's Escape (closing a panel) is not meant.
      e.preventDefault();
      searchQuery.value = '';
      input.current?.blur();
    } else if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && n > 0) {
      e.preventDefault();
      const i = activeOption.value;
      activeOption.value = e.key === 'ArrowDown' ? (i + 1) % n : i <= 0 ? n - 1 : i - 1;
    } else if (e.key === 'Enter' && active) {
      e.preventDefault();
      active.open();
    }
  }

  return (
    <>
      <div class="search-bar" role="search">
        <label class="search-field">
          <span class="visually-hidden">Search chats, people and messages</span>
          <input
            ref={input}
            type="search"
            aria-controls={open && Panel ? 'search-results' : undefined}
            aria-activedescendant={open && active ? active.id : undefined}
            aria-keyshortcuts="Control+K Meta+K"
            placeholder="Search"
            autocomplete="off"
            spellcheck={false}
            maxLength={256}
            value={searchQuery.value}
            onFocus={() => void loadPanel().catch(() => (panel = null))}
            onInput={(e) => {
              searchQuery.value = e.currentTarget.value;
              activeOption.value = -1;
            }}
            onKeyDown={onKeyDown}
          />
        </label>
      </div>
      {open &&
        (Panel ? (
          <Panel />
        ) : (
          <div class="search-results" aria-busy={!failed}>
            {failed && (
              <p class="error" role="alert">
                Search could not be loaded. Check the connection and try again
              </p>
            )}
          </div>
        ))}
    </>
  );
}
