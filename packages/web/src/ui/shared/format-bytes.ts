const MIB = 1024 * 1024;

/** "512 B", "3.4 KB", "12.5 MB", "1.2 GB" (binary units, as the limits are). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1).replace(/\.0$/, '')} ${units[i]}`;
}

/** A limit in MiB as the user reads it: "100 MiB", "0.5 MiB". */
export function formatMiB(bytes: number): string {
  const v = bytes / MIB;
  return `${v >= 10 ? Math.round(v) : Number(v.toFixed(2))} MiB`;
}

/** A wait as the user reads it: "40 s", "12 min", "60 min", "2 h" (minutes up to an hour and a half). */
export function formatWait(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.ceil(seconds))} s`;
  if (seconds <= 5400) return `${Math.ceil(seconds / 60)} min`;
  return `${Math.ceil(seconds / 3600)} h`;
}
