import type { ComponentChildren } from 'preact';
import { useApp } from './app-context.ts';
import { ErrorText } from './shared/error-text.tsx';
import { useAction } from './shared/use-action.ts';

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
  const app = useApp();
  const action = useAction();
  const submit = action.form(async (v) => {
    await app.signIn({ username: v.username!.trim(), password: v.password! });
    location.hash = '#/';
  });
  return (
    <AuthFrame title="Sign in">
      {app.session.signOutReason.value && (
        <p class="info" role="status">
          {app.session.signOutReason.value}
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
        <ErrorText error={action.error} />
        <button type="submit" class="primary" disabled={action.busy}>
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
  const action = useAction();
  const submit = action.form(async (v) => {
    if (v.password !== v.confirm) throw new Error('The passwords do not match');
    await app.register({
      inviteCode: v.code!.trim(),
      username: v.username!.trim(),
      password: v.password!,
      displayName: v.displayName!.trim() || v.username!.trim(),
    });
    location.hash = '#/';
  });
  return (
    <AuthFrame title="Create an account">
      <form onSubmit={submit} aria-label="Create an account">
        <label>
          Invite code
          <input name="code" required defaultValue={app.router.route.value.query.get('code') ?? ''} autocomplete="off" />
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
        <ErrorText error={action.error} />
        <button type="submit" class="primary" disabled={action.busy}>
          Create account
        </button>
      </form>
      <p class="aside">
        Already registered? <a href="#/login">Sign in</a>
      </p>
    </AuthFrame>
  );
}
