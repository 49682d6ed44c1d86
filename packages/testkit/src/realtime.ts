import type { TypedDocumentString, VariablesArgs } from '@parley/kit/testing';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

/** The `errors` of a graphql-ws `error` message (GraphQLFormattedError, without importing graphql here). */
export type GraphQLFormattedError = NonNullable<FormattedExecutionResult['errors']>[number];

/** How a socket was closed: 4401, 4403, 4429, 1009, ... and the server's reason. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** `connectRealtime` was refused: the server closed the socket before acknowledging it. */
export class RealtimeClosedError extends Error implements CloseInfo {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(
      `the socket closed with ${code}${reason ? ` (${reason})` : ''} before the connection was acknowledged`,
    );
  }
}

export interface RealtimeSubscription<TData> {
  /** Every result received so far, in order of arrival. */
  readonly results: FormattedExecutionResult<TData>[];
  /** The next result not yet returned by `next`/`take`. Fails after the timeout, or at once if the subscription ended. */
  next(timeoutMs?: number): Promise<FormattedExecutionResult<TData>>;
  /** The next `count` results, as `next`. */
  take(count: number, timeoutMs?: number): Promise<FormattedExecutionResult<TData>[]>;
  /** The GraphQL errors of the server's `error` message; rejects if the subscription ended otherwise. */
  readonly error: Promise<readonly GraphQLFormattedError[]>;
  /** Resolves when the server completes it (or `unsubscribe`); rejects if it ended with an error or a close. */
  readonly completed: Promise<void>;
  /** How it ended ("completed", "ended with errors [...]", ...), undefined while it runs. */
  readonly ended: string | undefined;
  unsubscribe(): void;
}

export interface RealtimeConnection {
  /** A typed document (codegen's) gives the result and variable types itself. */
  subscribe<TResult, TVariables>(
    query: TypedDocumentString<TResult, TVariables>,
    ...variables: VariablesArgs<TVariables>
  ): RealtimeSubscription<TResult>;
  /** A plain string takes TData: for documents written inline, or sent to be refused. */
  subscribe<TData = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
  ): RealtimeSubscription<TData>;
  /** Every subscription made on this socket, in order. */
  readonly subscriptions: readonly RealtimeSubscription<unknown>[];
  /** Resolves when the socket closes, for whatever reason. */
  readonly closed: Promise<CloseInfo>;
  /** Closes the socket (1000) and resolves once it is closed. */
  close(): Promise<CloseInfo>;
  /** Drops the socket without a close handshake, as a lost network would; resolves once it is closed. */
  terminate(): Promise<CloseInfo>;
  /** Sends a raw protocol message (JSON-encoded unless a string), past the client: to test the server's limits. */
  send(message: object | string): void;
  /**
   * Stops reading from the socket, as a client too slow to keep up (what the server sends waits in the
   * network buffers, then in the server), until `readAgain()`.
   */
  stopReading(): void;
  readAgain(): void;
  readonly client: Client;
}

export interface ConnectRealtimeOptions {
  /** Sent as `connectionParams.authorization: 'Bearer <token>'`. */
  token?: string;
  /** Sent as they are, instead of the token's. */
  connectionParams?: Record<string, unknown>;
  /** Default timeout of `connectRealtime`, `next` and `take`. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

const closeInfoOf = (event: unknown): CloseInfo => {
  const { code, reason } = (event ?? {}) as { code?: unknown; reason?: unknown };
  return { code: typeof code === 'number' ? code : -1, reason: typeof reason === 'string' ? reason : '' };
};

const describeEnd = (end: unknown): string => {
  if (Array.isArray(end)) return `ended with errors ${JSON.stringify(end)}`;
  if (end instanceof Error) return `failed: ${end.message}`;
  const { code, reason } = closeInfoOf(end);
  return `ended by the socket closing with ${code}${reason ? ` (${reason})` : ''}`;
};

const briefly = (query: string) => {
  const line = query.replace(/\s+/g, ' ');
  return line.length > 80 ? `${line.slice(0, 80)}…` : line;
};

/** Fails with `what ... did not happen within` unless `promise` settles in time. */
export function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A graphql-ws (`graphql-transport-ws`) client for tests: resolves once the server acknowledged the
 * connection, or rejects with a `RealtimeClosedError` (its close code) if the server closed it first.
 * Never retries: every close is the test's to see.
 */
export async function connectRealtime(
  wsUrl: string,
  options: ConnectRealtimeOptions = {},
): Promise<RealtimeConnection> {
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let socket: WebSocket | undefined;
  let onClosed: (info: CloseInfo) => void = () => {};
  const closed = new Promise<CloseInfo>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams:
      options.connectionParams ?? (options.token ? { authorization: `Bearer ${options.token}` } : undefined),
    // The close is reported through `closed` (and the rejection below), not logged.
    onNonLazyError: () => {},
    on: {
      connected: (connected) => (socket = connected as WebSocket),
      closed: (event) => onClosed(closeInfoOf(event)),
    },
  });

  const close = async () => {
    await client.dispose();
    return closed;
  };
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        client.on('connected', () => resolve());
        void closed.then(({ code, reason }) => reject(new RealtimeClosedError(code, reason)));
      }),
      defaultTimeoutMs,
      `connection_ack from ${wsUrl}`,
    );
  } catch (error) {
    await close();
    throw error;
  }

  const subscriptions: RealtimeSubscription<unknown>[] = [];
  function subscribe<TData>(
    document: string | TypedDocumentString<TData, never>,
    variables: Record<string, unknown> = {},
  ): RealtimeSubscription<TData> {
    // A TypedDocumentString is a String object: sent (and described in failures) as its text.
    const query = String(document);
    const results: FormattedExecutionResult<TData>[] = [];
    let taken = 0;
    let ended: string | undefined;
    const listeners = new Set<() => void>();
    const changed = () => listeners.forEach((listener) => listener());

    let settleError: (errors: readonly GraphQLFormattedError[]) => void = () => {};
    let failError: (error: Error) => void = () => {};
    const error = new Promise<readonly GraphQLFormattedError[]>((resolve, reject) => {
      settleError = resolve;
      failError = reject;
    });
    let settleCompleted: () => void = () => {};
    let failCompleted: (error: Error) => void = () => {};
    const completed = new Promise<void>((resolve, reject) => {
      settleCompleted = resolve;
      failCompleted = reject;
    });
    // Either may never be awaited: only the one a test awaits should fail it.
    error.catch(() => {});
    completed.catch(() => {});

    const arrivals = () =>
      `${results.length} result(s) arrived, ${taken} already taken:\n` +
      results.map((result, index) => `  ${index + 1}. ${JSON.stringify(result)}`).join('\n');

    const unsubscribe = client.subscribe<TData, Record<string, unknown>>(
      { query, variables },
      {
        next(result) {
          results.push(result);
          changed();
        },
        error(failure) {
          ended = describeEnd(failure);
          if (Array.isArray(failure)) settleError(failure as GraphQLFormattedError[]);
          else failError(new Error(`expected an error message, but the subscription ${ended}`));
          failCompleted(new Error(`expected completion, but the subscription ${ended}`));
          changed();
        },
        complete() {
          ended = 'completed';
          settleCompleted();
          failError(new Error(`expected an error message, but the subscription completed; ${arrivals()}`));
          changed();
        },
      },
    );

    function take(count: number, timeoutMs = defaultTimeoutMs) {
      return new Promise<FormattedExecutionResult<TData>[]>((resolve, reject) => {
        const finish = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        function check() {
          if (results.length - taken >= count) {
            finish();
            taken += count;
            resolve(results.slice(taken - count, taken));
          } else if (ended) {
            finish();
            reject(new Error(`waiting for ${count} result(s), the subscription ${ended}; ${arrivals()}`));
          }
        }
        const timer = setTimeout(() => {
          finish();
          reject(
            new Error(`waited ${timeoutMs} ms for ${count} result(s) of ${briefly(query)}; ${arrivals()}`),
          );
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    }

    const subscription: RealtimeSubscription<TData> = {
      results,
      take,
      next: async (timeoutMs) => (await take(1, timeoutMs))[0]!,
      error,
      completed,
      get ended() {
        return ended;
      },
      unsubscribe,
    };
    subscriptions.push(subscription);
    return subscription;
  }

  const send = (message: object | string) =>
    socket!.send(typeof message === 'string' ? message : JSON.stringify(message));

  const terminate = async () => {
    socket?.terminate();
    return closed;
  };
  return {
    subscribe,
    subscriptions,
    closed,
    close,
    terminate,
    send,
    stopReading: () => socket!.pause(),
    readAgain: () => socket!.resume(),
    client,
  };
}
