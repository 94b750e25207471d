export function PaneHeader({ title, id, back = '#/' }: { title: string; id?: string; back?: string }) {
  return (
    <header class="pane-header">
      <a class="back" href={back} aria-label="Back">
        ←
      </a>
      <div class="pane-title">
        <h2 id={id}>{title}</h2>
      </div>
    </header>
  );
}
