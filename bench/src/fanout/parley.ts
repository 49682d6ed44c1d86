import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { BENCH_CLIENT } from '../router/gateways.js';
import type { FanoutTarget } from './scenario.js';

/** What each client subscribes to: the viewer's whole stream, as the web app does. */
export const EVENTS = `subscription BenchEvents {
  events { __typename ... on MessageAdded { message { id seq body sender { id displayName } } } }
}`;
export const SEND = `mutation BenchSend($input: SendMessageInput!) { sendMessage(input: $input) { id seq } }`;

/** Clients of the Parley router: graphql-ws sockets subscribed to `events`; sends are `sendMessage` over HTTP. */
export function parleyTarget(router: { url: string; wsUrl: string }): FanoutTarget {
  return {
    async connect(user, onMessage) {
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
      const response = await fetch(router.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${user.accessToken}`,
          'graphql-client-name': BENCH_CLIENT,
        },
        body: JSON.stringify({
          query: SEND,
          variables: { input: { conversationId, body, clientMutationId: body } },
        }),
      });
      const answer = (await response.json()) as { errors?: unknown };
      if (answer.errors) throw new Error(`send failed: ${JSON.stringify(answer.errors)}`);
    },
  };
}
