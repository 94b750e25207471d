import { useEffect, useRef } from 'preact/hooks';

/** Every keyboard shortcut of the client, as the help sheet lists them. */
export const SHORTCUTS: { keys: string[]; what: string }[] = [
  { keys: ['Ctrl', 'K'], what: 'Search chats, people and messages (⌘ K on a Mac)' },
  { keys: ['Alt', '↑'], what: 'The chat above in the list' },
  { keys: ['Alt', '↓'], what: 'The chat below in the list' },
  { keys: ['Enter'], what: 'Send the message' },
  { keys: ['Shift', 'Enter'], what: 'A new line in the message' },
  { keys: ['↑'], what: 'Edit my last message (in an empty message box)' },
  { keys: ['↑', '↓', 'Home', 'End'], what: 'Move between messages in the timeline' },
  { keys: ['Menu'], what: 'The actions of the message in focus (also Shift F10, or a right click)' },
  { keys: ['Escape'], what: 'Close a menu, a dialog, chat info or a settings page' },
  { keys: ['?'], what: 'This list' },
];

/** Whether a key press opens the help sheet: "?" outside a text field. */
export function opensHelp(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  const typing = !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  return e.key === '?' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey;
}

/** The keyboard shortcuts, in a modal dialog that Escape or the button closes. */
export function HelpSheet({ onClose }: { onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={ref} class="dialog help-sheet" aria-labelledby="help-title" onCancel={onClose} onClose={onClose}>
      <h2 id="help-title">Keyboard shortcuts</h2>
      <dl class="shortcuts">
        {SHORTCUTS.map((s) => (
          <div key={s.what}>
            <dt>
              {s.keys.map((k, i) => (
                <>
                  {i > 0 && ' '}
                  <kbd>{k}</kbd>
                </>
              ))}
            </dt>
            <dd>{s.what}</dd>
          </div>
        ))}
      </dl>
      <div class="dialog-actions">
        <button type="button" autoFocus onClick={onClose}>
          Close
        </button>
      </div>
    </dialog>
  );
}
