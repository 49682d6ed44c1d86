import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { CLIENT_NAME, type ClientConfig } from './config';
import { retryAfterOf } from './errors';
import { documentHash } from './persisted-fetch';
import { clearSession, freshSession, readSession } from './session';

/** No pong this long after a ping: the socket is dead (a network change can leave it open but silent). */
const PONG_TIMEOUT_MS = 5_000;
const PING_INTERVAL_MS = 10_000;

const backoff = (attempt: number) => Math.min(10_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RealtimeSink {
  next(result: { data?: unknown; errors?: unknown }): void;
}

/**
 * The graphql-ws connection to the router. Tokens go in `connection_init` and are fresh at every
 * (re)connect; a ping without a pong, or the browser going offline or coming back online, restarts the
 * socket at once.
 */
export function createRealtime(config: ClientConfig) {
  const reconnectListeners = new Set<() => void>();
  let connections = 0;
  const socket: WsClient = createWsClient({
    url: config.wsUrl,
    lazy: true,
    lazyCloseTimeout: 3_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait: (attempt) => sleep(backoff(attempt)),
    keepAlive: PING_INTERVAL_MS,
    connectionParams: async () => {
      const session = await freshSession();
      if (!session) throw new Error('signed out');
      return { authorization: `Bearer ${session.accessToken}`, clientName: CLIENT_NAME };
    },
    on: {
      connected: () => {
        if (connections++ === 0) return;
        for (const listener of reconnectListeners) listener();
      },
      ping: (received) => {
        if (received) return;
        pongTimer = setTimeout(() => socket.terminate(), PONG_TIMEOUT_MS);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
    },
  });
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  // A socket that lived through a network change may be dead without knowing it: start a new one, which
  // resumes every subscription from its last cursor. Going offline closes it at once (its close reaches
  // the router if the network still carries it), so others do not see this device online or typing until
  // the router's pings find it dead; it reconnects with backoff, and at once when back online.
  const reconnect = () => socket.terminate();
  window.addEventListener('online', reconnect);
  window.addEventListener('offline', reconnect);

  /**
   * Subscribes to a persisted subscription and keeps it going: across reconnects (graphql-ws resends the
   * same payload, whose `after` follows the last event's cursor, so nothing is missed or repeated),
   * across an expired token (4401: refresh, subscribe again) and transient failures. Ends only when the
   * caller unsubscribes or the session is revoked (4403).
   */
  function subscribe(
    document: unknown,
    variables: Record<string, unknown>,
    sink: RealtimeSink,
    cursorOf: (data: unknown) => string | undefined,
  ): () => void {
    const payload = {
      query: '',
      variables: { ...variables },
      extensions: { persistedQuery: { version: 1, sha256Hash: documentHash(document) } },
    };
    let stopped = false;
    let unsubscribe = () => {};
    let attempt = 0;

    const start = () => {
      unsubscribe = socket.subscribe(payload, {
        next: (result) => {
          attempt = 0;
          const cursor = cursorOf(result.data);
          if (cursor) payload.variables['after'] = cursor;
          sink.next(result);
        },
        error: (error) => void restart(error),
        complete: () => void restart(undefined),
      });
    };
    const restart = async (error: unknown) => {
      if (stopped) return;
      const code = (error as { code?: number } | undefined)?.code;
      if (code === 4403) {
        clearSession();
        return;
      }
      if (code === 4401) {
        const session = await freshSession(readSession()?.accessToken).catch(() => undefined);
        if (session === null) return;
      } else {
        // Refused with GraphQL errors (SERVICE_UNAVAILABLE while Redis is down): not before their retryAfter.
        const retryAfter = Array.isArray(error) ? (retryAfterOf({ errors: error }) ?? 0) : 0;
        await sleep(Math.max(backoff(attempt++), retryAfter * 1000));
      }
      if (!stopped) start();
    };
    start();
    return () => {
      stopped = true;
      unsubscribe();
    };
  }

  return {
    subscribe,
    /**
     * Calls `listener` each time the socket is connected again after a loss. Resumed subscriptions replay
     * the events missed, but not typing and presence (the log does not keep them): what was shown of those
     * may be stale, and is to be read again.
     */
    onReconnect(listener: () => void) {
      reconnectListeners.add(listener);
      return () => void reconnectListeners.delete(listener);
    },
    dispose() {
      window.removeEventListener('online', reconnect);
      window.removeEventListener('offline', reconnect);
      clearTimeout(pongTimer);
      void socket.dispose();
    },
  };
}

export type Realtime = ReturnType<typeof createRealtime>;
