import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ParleyError } from '@parley/sdk';
import { useApp } from './app-context.ts';
import { ErrorText } from './shared/error-text.tsx';
import { Field, formProblems } from './shared/field.tsx';
import { errorText, formValues } from './shared/form-helpers.ts';
import { useCountdown } from './shared/use-countdown.ts';

function AuthFrame({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <main class="auth">
      <div class="auth-card">
        <div class="brand" aria-hidden="true">
          Parley
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** The server's refusals that belong to one field of the register form. */
const FIELD_OF: Record<string, string> = {
  username_taken: 'username',
  invite_invalid: 'code',
  invite_expired: 'code',
  invite_revoked: 'code',
  invite_used_up: 'code',
};

interface FormState {
  busy: boolean;
  /** Errors by field name; '' is the form's own */
  errors: Record<string, string>;
  submit(e: Event): void;
}

/**
 * A sign-in or register form: every submit starts with no errors, checks the fields (each error
 * shown under its field), then runs `fn`; what it throws is shown under a field or for the form.
 */
function useAuthForm(fn: (v: Record<string, string>) => Promise<void>, check?: (v: Record<string, string>) => Record<string, string>): FormState {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  return {
    busy,
    errors,
    submit(e) {
      e.preventDefault();
      const form = e.currentTarget as HTMLFormElement;
      const values = formValues(form);
      const problems = { ...formProblems(form), ...check?.(values) };
      setErrors(problems);
      if (Object.keys(problems).length > 0) {
        form.querySelector<HTMLInputElement>(`[name="${Object.keys(problems)[0]}"]`)?.focus();
        return;
      }
      setBusy(true);
      fn(values)
        .catch((err) => setErrors({ [(err instanceof ParleyError && FIELD_OF[err.code]) || '']: errorText(err) }))
        .finally(() => setBusy(false));
    },
  };
}

export function LoginScreen() {
  const app = useApp();
  const [blockedUntil, setBlockedUntil] = useState(0);
  const wait = useCountdown(blockedUntil);
  const form = useAuthForm(async (v) => {
    try {
      await app.signIn({ username: v.username!.trim(), password: v.password! });
    } catch (err) {
      if (err instanceof ParleyError && err.code === 'rate_limited' && err.retryAfter) setBlockedUntil(Date.now() + err.retryAfter * 1000);
      throw err;
    }
    location.hash = '#/';
  });
  const formError = wait > 0 ? `Too many login attempts. Try again in ${wait} second${wait === 1 ? '' : 's'}` : form.errors[''];
  return (
    <AuthFrame title="Sign in">
      {app.session.signOutReason.value && (
        <p class="info" role="status">
          {app.session.signOutReason.value}
        </p>
      )}
      <form onSubmit={form.submit} aria-label="Sign in" noValidate>
        <Field label="Username" name="username" autocomplete="username" required autoFocus error={form.errors.username} />
        <Field label="Password" name="password" type="password" autocomplete="current-password" required error={form.errors.password} />
        <ErrorText error={formError} />
        <button type="submit" class="primary" disabled={form.busy || wait > 0}>
          Sign in
        </button>
      </form>
      <p class="aside">
        Have an invite code? <a href="#/register">Create an account</a>
      </p>
    </AuthFrame>
  );
}

export function RegisterScreen() {
  const app = useApp();
  const form = useAuthForm(
    async (v) => {
      await app.register({
        inviteCode: v.code!.trim(),
        username: v.username!.trim(),
        password: v.password!,
        displayName: v.displayName!.trim() || v.username!.trim(),
      });
      location.hash = '#/';
    },
    (v): Record<string, string> => (v.confirm && v.password !== v.confirm ? { confirm: 'The passwords do not match' } : {}),
  );
  const e = form.errors;
  return (
    <AuthFrame title="Create an account">
      <form onSubmit={form.submit} aria-label="Create an account" noValidate>
        <Field label="Invite code" name="code" required defaultValue={app.router.route.value.query.get('code') ?? ''} autocomplete="off" error={e.code} />
        <Field
          label="Username"
          name="username"
          autocomplete="username"
          required
          minLength={3}
          maxLength={32}
          pattern="[A-Za-z0-9_]+"
          title="3 to 32 letters, digits or _"
          error={e.username}
        />
        <Field label="Display name" name="displayName" autocomplete="name" maxLength={64} error={e.displayName} />
        <Field label="Password" name="password" type="password" autocomplete="new-password" required minLength={8} error={e.password} />
        <Field label="Repeat password" name="confirm" type="password" autocomplete="new-password" required minLength={8} error={e.confirm} />
        <ErrorText error={e['']} />
        <button type="submit" class="primary" disabled={form.busy}>
          Create account
        </button>
      </form>
      <p class="aside">
        Already registered? <a href="#/login">Sign in</a>
      </p>
    </AuthFrame>
  );
}
