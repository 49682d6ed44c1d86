import { Client, fetchExchange, subscriptionExchange, type Exchange } from '@urql/core';
import { authExchange } from '@urql/exchange-auth';
import { persistedExchange } from '@urql/exchange-persisted';
import { createCache } from './cache';
import { CLIENT_NAME, type ClientConfig } from './config';
import { documentHash } from './persisted-fetch';
import type { Realtime } from './realtime';
import { queryRetryExchange } from './retry';
import type { ServiceStatus } from './service-status';
import { accessTokenExpiring, freshSession, readSession, type Session } from './session';

const isUnauthenticated = (error: { graphQLErrors: { extensions?: Record<string, unknown> }[] }) =>
  error.graphQLErrors.some((graphQLError) => graphQLError.extensions?.['code'] === 'UNAUTHENTICATED');

/** Bearer tokens on every request, refreshed shortly before they expire and once when refused. */
const auth: Exchange = authExchange(async (utils) => ({
  addAuthToOperation(operation) {
    const session = readSession();
    return session
      ? utils.appendHeaders(operation, { authorization: `Bearer ${session.accessToken}` })
      : operation;
  },
  willAuthError() {
    const session = readSession();
    return session !== null && accessTokenExpiring(session);
  },
  didAuthError: isUnauthenticated,
  async refreshAuth() {
    // Null means the refresh token was refused: the session listener signs the app out.
    await freshSession(readSession()?.accessToken).catch(() => undefined);
  },
}));

/** The first field of a subscription result carries the event's cursor. */
const cursorOf = (data: unknown) =>
  (Object.values((data ?? {}) as Record<string, { cursor?: string } | null>)[0] ?? undefined)?.cursor;

/**
 * The app's urql client: normalized cache, queries sent again while the graph is unavailable for now (`status`
 * tells the screens), auth, persisted operations only (each sent by its manifest hash, never as text), HTTP for
 * queries and mutations, graphql-ws for subscriptions.
 */
export function createParleyClient(
  config: ClientConfig,
  session: Session,
  realtime: Realtime,
  status: ServiceStatus,
) {
  return new Client({
    url: config.graphqlUrl,
    fetchOptions: { headers: { 'graphql-client-name': CLIENT_NAME } },
    requestPolicy: 'cache-and-network',
    exchanges: [
      createCache(session.user),
      status.exchange,
      // Before auth: each attempt carries the access token current then.
      queryRetryExchange({ onRetry: (operation) => status.retrying(operation) }),
      auth,
      persistedExchange({
        enforcePersistedQueries: true,
        enableForMutation: true,
        preferGetForPersistedQueries: false,
        generateHash: async (_query, document) => documentHash(document),
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request, operation) => ({
          subscribe: (sink) => ({
            unsubscribe: realtime.subscribe(operation.query, request.variables ?? {}, sink, cursorOf),
          }),
        }),
      }),
    ],
  });
}
