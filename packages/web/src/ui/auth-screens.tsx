import { useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { registerAndSignIn, signIn, signOutReason } from '../state/app-state.ts';
import { route } from '../state/router.ts';
import { errorText, formValues } from './shared/form-helpers.ts';

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

export function LoginScreen() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      await signIn({ username: v.username!.trim(), password: v.password! });
      location.hash = '#/';
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <AuthFrame title="Sign in">
      {signOutReason.value && (
        <p class="info" role="status">
          {signOutReason.value}
        </p>
      )}
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          Username
          <input name="username" autocomplete="username" required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
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
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    const v = formValues(e.currentTarget as HTMLFormElement);
    if (v.password !== v.confirm) return setError('The passwords do not match');
    setBusy(true);
    setError(null);
    try {
      await registerAndSignIn({ inviteCode: v.code!.trim(), username: v.username!.trim(), password: v.password!, displayName: v.displayName!.trim() || v.username!.trim() });
      location.hash = '#/';
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <AuthFrame title="Create an account">
      <form onSubmit={submit} aria-label="Create an account">
        <label>
          Invite code
          <input name="code" required defaultValue={route.value.query.get('code') ?? ''} autocomplete="off" />
        </label>
        <label>
          Username
          <input name="username" autocomplete="username" required minLength={3} maxLength={32} pattern="[A-Za-z0-9_]+" title="3 to 32 letters, digits or _" />
        </label>
        <label>
          Display name
          <input name="displayName" autocomplete="name" maxLength={64} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="new-password" required minLength={8} />
        </label>
        <label>
          Repeat password
          <input name="confirm" type="password" autocomplete="new-password" required minLength={8} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Create account
        </button>
      </form>
      <p class="aside">
        Already registered? <a href="#/login">Sign in</a>
      </p>
    </AuthFrame>
  );
}
