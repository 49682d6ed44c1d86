'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState, type FormEvent } from 'react';
import { UNAVAILABLE_MESSAGE } from '../lib/errors';
import { LoginMutation, RegisterMutation } from '../lib/operations';
import { GraphRequestError, persistedFetch } from '../lib/persisted-fetch';
import { saveSession } from '../lib/session';
import { useApp } from './providers';

/** A message a person can act on, from the graph's error codes. */
function describe(error: unknown): string {
  if (!(error instanceof GraphRequestError))
    return 'Cannot reach Parley. Check your connection and try again.';
  const first = error.errors[0];
  switch (first?.extensions?.code) {
    case 'RATE_LIMITED':
      return `Too many attempts. Try again in ${first.extensions.retryAfter ?? 60} seconds.`;
    case 'SERVICE_UNAVAILABLE':
      // A database or service behind the graph is down for now: not the person's credentials.
      return UNAVAILABLE_MESSAGE;
    case 'UNAUTHENTICATED':
      return 'Wrong email or password.';
    case 'CONFLICT':
      return first.extensions.field === 'username'
        ? 'That username is taken.'
        : 'An account with that email exists.';
    default:
      return first?.message ?? 'Something went wrong.';
  }
}

export function AuthForm({ mode }: { mode: 'login' | 'register' }) {
  const { config, session } = useApp();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (session) router.replace('/');
  }, [session, router]);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!config) return;
    const form = new FormData(event.currentTarget);
    const field = (name: string) => String(form.get(name) ?? '');
    setBusy(true);
    setError(null);
    try {
      const payload =
        mode === 'login'
          ? (
              await persistedFetch(config.graphqlUrl, LoginMutation, {
                input: { email: field('email'), password: field('password') },
              })
            ).login
          : (
              await persistedFetch(config.graphqlUrl, RegisterMutation, {
                input: {
                  email: field('email'),
                  username: field('username'),
                  password: field('password'),
                  displayName: field('displayName') || null,
                },
              })
            ).register;
      saveSession(payload);
      router.replace('/');
    } catch (caught) {
      setError(describe(caught));
    } finally {
      setBusy(false);
    }
  }

  const title = mode === 'login' ? 'Sign in to Parley' : 'Create your Parley account';
  return (
    <main className="auth">
      <form className="card auth-card" onSubmit={submit} aria-labelledby="auth-title">
        <h1 id="auth-title">{title}</h1>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required maxLength={254} autoFocus />
        </label>
        {mode === 'register' && (
          <>
            <label>
              Username
              <input
                name="username"
                autoComplete="username"
                required
                minLength={3}
                maxLength={32}
                pattern="[A-Za-z0-9_]+"
                title="3 to 32 letters, digits or underscores"
              />
            </label>
            <label>
              Display name
              <input name="displayName" autoComplete="name" maxLength={64} />
            </label>
          </>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'register' ? 8 : 1}
          />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || !config}>
          {mode === 'login' ? 'Sign in' : 'Create account'}
        </button>
        <p className="muted">
          {mode === 'login' ? (
            <>
              New here? <Link href="/register">Create an account</Link>
            </>
          ) : (
            <>
              Have an account? <Link href="/login">Sign in</Link>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
