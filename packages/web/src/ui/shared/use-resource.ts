import { useEffect, useState } from 'preact/hooks';
import { errorText } from './form-helpers.ts';

export interface Resource<T> {
  /** The last loaded value; undefined until the first load succeeds. */
  data: T | undefined;
  /** What went wrong last, loading or changing, as text for the screen. */
  error: string | null;
  reload(): Promise<void>;
  /** Runs a change: clears the error, shows the change's failure if it fails, then reloads. */
  act(change: () => Promise<unknown>): Promise<void>;
  fail(err: unknown): void;
}

/** Data a screen loads when it opens (and when `deps` change), and the changes made from it. */
export function useResource<T>(load: () => Promise<T>, deps: unknown[]): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const fail = (err: unknown) => setError(errorText(err));
  const reload = () => load().then(setData, fail);
  useEffect(() => {
    void reload();
  }, deps);
  return {
    data,
    error,
    reload,
    fail,
    async act(change) {
      setError(null);
      try {
        await change();
      } catch (err) {
        fail(err);
      }
      await reload();
    },
  };
}
