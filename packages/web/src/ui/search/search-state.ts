import { signal } from '@preact/signals';

/** What the search field holds; while it is not blank the chat list gives way to the results. */
export const searchQuery = signal('');

/** A result the arrow keys can reach from the field; Enter opens it. */
export interface SearchOption {
  id: string;
  open(): void;
}

/** The results in their order on screen, and the one the arrow keys are on (-1: none). */
export const searchOptions = signal<SearchOption[]>([]);
export const activeOption = signal(-1);
