import { useEffect, useState } from 'preact/hooks';

/** Seconds left until `until` (ms), ticking every second; 0 once it has passed. */
export function useCountdown(until: number): number {
  const left = () => Math.max(0, Math.ceil((until - Date.now()) / 1000));
  const [, tick] = useState(0);
  useEffect(() => {
    if (left() === 0) return;
    const timer = setInterval(() => {
      tick((n) => n + 1);
      if (left() === 0) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [until]);
  return left();
}
