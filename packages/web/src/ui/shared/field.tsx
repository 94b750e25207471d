import type { InputHTMLAttributes } from 'preact';
import { useId } from 'preact/hooks';

/** Why a field's value is refused, from the browser's own checks; null when it is fine. */
export function fieldProblem(el: HTMLInputElement): string | null {
  const v = el.validity;
  if (v.valid) return null;
  if (v.valueMissing) return 'Fill in this field';
  if (v.tooShort) return `At least ${el.minLength} characters`;
  if (v.tooLong) return `At most ${el.maxLength} characters`;
  if (v.patternMismatch) return el.title || 'Not in the expected form';
  return el.validationMessage;
}

/** The problems of every named field of a form, by field name. */
export function formProblems(form: HTMLFormElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const el of Array.from(form.elements)) {
    if (!(el instanceof HTMLInputElement) || !el.name) continue;
    const problem = fieldProblem(el);
    if (problem) out[el.name] = problem;
  }
  return out;
}

/** A labelled input with its error, if any, right under it (and linked to it for screen readers). */
export function Field({ label, error, ...input }: { label: string; error?: string | null } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div class="field">
      <label>
        {label}
        <input {...input} aria-invalid={error ? 'true' : undefined} aria-describedby={error ? `${id}-error` : undefined} />
      </label>
      {error && (
        <p class="field-error error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
