import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

export interface Choice<T extends string> {
  value: T;
  label: string;
  danger?: boolean;
}

/**
 * A modal question with Cancel and the given choices. Cancel comes first and has the focus, Tab
 * stays inside, Escape cancels; `onChoose` gets the choice, or null when cancelled.
 */
export function ChoiceDialog<T extends string>({
  title,
  children,
  choices,
  onChoose,
}: {
  title: string;
  children?: ComponentChildren;
  choices: Choice<T>[];
  onChoose(value: T | null): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  const done = useRef(false);
  const choose = (value: T | null) => {
    if (done.current) return;
    done.current = true;
    onChoose(value);
  };

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);

  function onKeyDown(e: KeyboardEvent) {
    if (e.key !== 'Tab') return;
    const buttons = Array.from(ref.current?.querySelectorAll<HTMLElement>('button:not(:disabled), select, input') ?? []);
    const first = buttons[0];
    const last = buttons[buttons.length - 1];
    if (!first || !last) return;
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  }

  return (
    <dialog ref={ref} class="dialog" aria-labelledby={`${id}-title`} onCancel={() => choose(null)} onClose={() => choose(null)} onKeyDown={onKeyDown}>
      <h2 id={`${id}-title`}>{title}</h2>
      {children && <div class="dialog-body">{children}</div>}
      <div class="dialog-actions">
        <button type="button" autoFocus onClick={() => choose(null)}>
          Cancel
        </button>
        {choices.map((c) => (
          <button key={c.value} type="button" class={c.danger ? 'danger' : undefined} onClick={() => choose(c.value)}>
            {c.label}
          </button>
        ))}
      </div>
    </dialog>
  );
}
