import { useEffect, useRef } from 'preact/hooks';

export interface MenuItem {
  label: string;
  run(): void;
  danger?: boolean;
}

/**
 * A message's context menu at a point (right-click, long-press, the context-menu key). The first
 * item has the focus; arrow keys move, Escape, Tab or a click elsewhere close it.
 */
export function MessageMenu({ x, y, items, onClose }: { x: number; y: number; items: MenuItem[]; onClose(): void }) {
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const menu = ref.current;
    if (!menu) return;
    // Kept inside the window.
    const r = menu.getBoundingClientRect();
    menu.style.left = `${Math.max(4, Math.min(x, innerWidth - r.width - 4))}px`;
    menu.style.top = `${Math.max(4, Math.min(y, innerHeight - r.height - 4))}px`;
    menu.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const away = (e: Event) => !menu.contains(e.target as Node) && onClose();
    addEventListener('pointerdown', away, true);
    addEventListener('resize', onClose);
    return () => {
      removeEventListener('pointerdown', away, true);
      removeEventListener('resize', onClose);
    };
  }, []);

  function onKeyDown(e: KeyboardEvent) {
    const list = Array.from(ref.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? []);
    const i = list.indexOf(document.activeElement as HTMLElement);
    const to =
      e.key === 'ArrowDown'
        ? (i + 1) % list.length
        : e.key === 'ArrowUp'
          ? (i - 1 + list.length) % list.length
          : e.key === 'Home'
            ? 0
            : e.key === 'End'
              ? list.length - 1
              : -1;
    if (to >= 0) {
      e.preventDefault();
      list[to]?.focus();
    } else if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      e.stopPropagation();
      onClose();
    }
  }

  return (
    <div ref={ref} class="message-menu" role="menu" aria-label="Message actions" style={{ left: `${x}px`, top: `${y}px` }} onKeyDown={onKeyDown}>
      {items.map((it) => (
        <button
          key={it.label}
          type="button"
          role="menuitem"
          tabIndex={-1}
          class={it.danger ? 'danger' : undefined}
          onClick={() => {
            // First the action (it may move the focus, to the composer), then the menu closes.
            it.run();
            onClose();
          }}
        >
          {it.label}
        </button>
      ))}
    </div>
  );
}
