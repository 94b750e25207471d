/** The app's icon (public/favicon.svg) drawn on a canvas, with the unread count on a badge. */
const LOGO = 'M9 10h14a3 3 0 0 1 3 3v6a3 3 0 0 1-3 3h-8l-5 4v-4H9a3 3 0 0 1-3-3v-6a3 3 0 0 1 3-3z';
const PLAIN = '/favicon.svg';

function badgeIcon(count: number): string | null {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 64;
  const g = canvas.getContext('2d');
  if (!g) return null;
  g.scale(2, 2);
  g.fillStyle = '#3b6fd8';
  g.beginPath();
  g.roundRect(0, 0, 32, 32, 8);
  g.fill();
  g.fillStyle = '#fff';
  g.fill(new Path2D(LOGO));
  const text = count > 99 ? '99+' : String(count);
  g.fillStyle = '#e5484d';
  g.beginPath();
  g.roundRect(32 - (text.length > 1 ? 22 : 16), 0, text.length > 1 ? 22 : 16, 16, 8);
  g.fill();
  g.fillStyle = '#fff';
  g.font = `bold ${text.length > 2 ? 9 : 11}px sans-serif`;
  g.textAlign = 'center';
  g.textBaseline = 'middle';
  g.fillText(text, 32 - (text.length > 1 ? 11 : 8), 8.5);
  return canvas.toDataURL('image/png');
}

/** Puts the unread count on the tab's icon (the plain icon when there is none). */
export function showUnreadOnFavicon(count: number): void {
  const link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (!link) return;
  const icon = count > 0 ? badgeIcon(count) : null;
  link.type = icon ? 'image/png' : 'image/svg+xml';
  link.href = icon ?? PLAIN;
  link.dataset.unread = String(count);
}
