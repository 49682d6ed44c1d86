import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { BENCH_CLIENT } from '../router/gateways.js';
import type { FanoutTarget } from './scenario.js';

/** What each client subscribes to: the viewer's whole stream, as the web app does. */
export const EVENTS = `subscription BenchEvents {
  events { __typename ... on MessageAdded { message { id seq body sender { id displayName } } } }
}`;
export const SEND = `mutation BenchSend($input: SendMessageInput!) { sendMessage(input: $input) { id seq } }`;

/**
 * Clients of Parley routers: graphql-ws sockets subscribed to `events`, each on the next router in turn;
 * sends are `sendMessage` over HTTP, each to the next router in turn.
 */
export function parleyTarget(routers: { url: string; wsUrl: string }[]): FanoutTarget {
  let sockets = 0;
  let sends = 0;
  // Bodies repeat from one run of the scenario to the next: the idempotency key must not (a repeated one is a
  // retry, answered with the first message and no new event).
  const run = randomUUID();
  return {
    async connect(user, onMessage) {
      const router = routers[sockets++ % routers.length]!;
      const client = createClient({
        url: router.wsUrl,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${user.accessToken}`, clientName: BENCH_CLIENT },
      });
      await new Promise<void>((resolve, reject) => {
        const off = client.on('connected', () => {
          off();
          resolve();
        });
        client.on('closed', (event) => reject(new Error(`socket closed: ${JSON.stringify(event)}`)));
      });
      client.subscribe<{ events: { message?: { body: string | null } } }>(
        { query: EVENTS },
        {
          next: (result) => {
            const body = result.data?.events.message?.body;
            if (body) onMessage(body);
          },
          error: (error) => console.error('subscription error', error),
          complete: () => undefined,
        },
      );
      return { close: () => void client.dispose() };
    },
    async send(user, conversationId, body) {
      const router = routers[sends++ % routers.length]!;
      const response = await fetch(router.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${user.accessToken}`,
          'graphql-client-name': BENCH_CLIENT,
        },
        body: JSON.stringify({
          query: SEND,
          variables: { input: { conversationId, body, clientMutationId: `${run}:${body}` } },
        }),
      });
      const answer = (await response.json()) as { errors?: unknown };
      if (answer.errors) throw new Error(`send failed: ${JSON.stringify(answer.errors)}`);
    },
  };
}
