/**
 * Counts the calls of each key (a user) that are running, and refuses one past the maximum, so that
 * one user's parallel requests cannot occupy a node. The count is per node: each node protects itself.
 */
export class InFlight {
  private readonly running = new Map<string, number>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** Takes a slot for key: the function that gives it back, or null when key has none free. */
  enter(key: string): (() => void) | null {
    const now = this.running.get(key) ?? 0;
    if (now >= this.max) return null;
    this.running.set(key, now + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const n = (this.running.get(key) ?? 1) - 1;
      if (n === 0) this.running.delete(key);
      else this.running.set(key, n);
    };
  }

  /** How many calls of key are running. */
  count(key: string): number {
    return this.running.get(key) ?? 0;
  }
}
