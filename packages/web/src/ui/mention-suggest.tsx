import type { User } from '@parley/sdk';
import './message-list/message-extras.css';

export const MENTION_LIST_ID = 'mention-suggest';

/** The members offered while an @word is typed in a group's composer; the textarea keeps the focus (arrow keys, Enter or Tab, Escape). */
export function MentionSuggest({ candidates, selected, onPick }: { candidates: User[]; selected: number; onPick(u: User): void }) {
  return (
    <ul id={MENTION_LIST_ID} class="mention-suggest" role="listbox" aria-label="Mention a member">
      {candidates.map((u, i) => (
        <li
          key={u.id}
          id={`${MENTION_LIST_ID}-${u.id}`}
          role="option"
          aria-selected={i === selected}
          // Before the textarea's blur: the pick keeps the focus where the typing is.
          onMouseDown={(e) => {
            e.preventDefault();
            onPick(u);
          }}
        >
          {u.displayName}
          <span class="username">@{u.username}</span>
        </li>
      ))}
    </ul>
  );
}
