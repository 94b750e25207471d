import { useState } from 'preact/hooks';
import { errorText, formValues } from './form-helpers.ts';

export interface Action {
  busy: boolean;
  error: string | null;
  /** What the last successful run said it did, if it said anything. */
  done: string | null;
  run(fn: () => Promise<string | void>): Promise<boolean>;
  /** An onSubmit handler that runs `fn` with the form's values; `reset` empties the form after success. */
  form(fn: (values: Record<string, string>) => Promise<string | void>, options?: { reset?: boolean }): (e: Event) => void;
}

/** A user action (usually a form's submit): one at a time, its failure shown as text. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  async function run(fn: () => Promise<string | void>): Promise<boolean> {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      setDone((await fn()) ?? null);
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      setBusy(false);
    }
  }
  return {
    busy,
    error,
    done,
    run,
    form(fn, options) {
      return (e) => {
        e.preventDefault();
        const form = e.currentTarget as HTMLFormElement;
        void run(() => fn(formValues(form))).then((ok) => ok && options?.reset && form.reset());
      };
    },
  };
}
