import type { SignedInFragment } from '../generated/graphql';
import { loadConfig } from './config';
import { GraphRequestError, persistedFetch } from './persisted-fetch';
import { RefreshSessionMutation } from './operations';

/**
 * The signed-in session: a short-lived access token and a single-use refresh token, kept in localStorage
 * so every tab shares them. Refreshing is done under a Web Lock, and the stored tokens are read again
 * inside it: two tabs must never present the same refresh token, or the server takes it as theft and ends
 * the session (refresh-token reuse revokes the family).
 */
export interface Session {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
  user: { id: string; username: string; displayName: string };
}

const STORAGE_KEY = 'parley.session';
/** Refresh this long before the access token expires, so no request carries an expired one. */
const REFRESH_MARGIN_MS = 30_000;

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();

export function readSession(): Session | null {
  if (typeof localStorage === 'undefined') return null;
  const raw = localStorage.getItem(STORAGE_KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Session;
  } catch {
    return null;
  }
}

function notify(session: Session | null) {
  for (const listener of listeners) listener(session);
}

export function saveSession(payload: SignedInFragment): Session {
  const session: Session = {
    accessToken: payload.accessToken,
    accessTokenExpiresAt: String(payload.accessTokenExpiresAt),
    refreshToken: payload.refreshToken,
    refreshTokenExpiresAt: String(payload.refreshTokenExpiresAt),
    user: payload.user,
  };
  localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  notify(session);
  return session;
}

export function clearSession() {
  localStorage.removeItem(STORAGE_KEY);
  notify(null);
}

/** Calls `listener` when this tab or another signs in, refreshes or signs out. */
export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  const onStorage = (event: StorageEvent) => {
    if (event.key === STORAGE_KEY) listener(readSession());
  };
  window.addEventListener('storage', onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('storage', onStorage);
  };
}

export const accessTokenExpiring = (session: Session) =>
  Date.parse(session.accessTokenExpiresAt) - Date.now() < REFRESH_MARGIN_MS;

/** Runs `task` holding the app-wide refresh lock (every tab of this origin). */
function withRefreshLock<T>(task: () => Promise<T>): Promise<T> {
  if (typeof navigator !== 'undefined' && navigator.locks) {
    return navigator.locks.request('parley.refresh', task) as Promise<T>;
  }
  return task();
}

/**
 * A session whose access token is good for a while: the stored one, or a refreshed one. `stale` is a
 * token the server refused: refresh even if its expiry says it is fine. Signs out (and returns null)
 * when the refresh token is refused: expired, revoked or already used.
 */
export function freshSession(stale?: string): Promise<Session | null> {
  return withRefreshLock(async () => {
    const current = readSession();
    if (!current) return null;
    // Another tab (or an earlier call) may have refreshed while this one waited for the lock.
    if (current.accessToken !== stale && !accessTokenExpiring(current)) return current;
    const { graphqlUrl } = await loadConfig();
    try {
      const data = await persistedFetch(graphqlUrl, RefreshSessionMutation, {
        input: { refreshToken: current.refreshToken },
      });
      return saveSession(data.refreshSession);
    } catch (error) {
      if (error instanceof GraphRequestError && error.code === 'UNAUTHENTICATED') {
        clearSession();
        return null;
      }
      // Offline or the graph unreachable: keep the session; the caller retries later.
      throw error;
    }
  });
}
