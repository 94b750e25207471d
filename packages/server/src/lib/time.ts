/** A stored time (milliseconds since the epoch) as it goes on the wire. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Like iso, for optional times. */
export function isoOrNull(ms: number | null | undefined): string | null {
  return ms == null ? null : iso(Number(ms));
}
