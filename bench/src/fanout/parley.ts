import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { BENCH_CLIENT } from '../router/gateways.js';
import type { FanoutTarget } from './scenario.js';

/** What each client subscribes to: the viewer's whole stream, as the web app does. */
export const EVENTS = `subscription BenchEvents {
  events { __typename ... on MessageAdded { message { id seq body sender { id displayName } } } }
}`;
/** The slow client's subscriptions: its messages, and the resync it is owed once it reads again. */
export const SLOW_EVENTS = `subscription BenchSlowEvents {
  events { __typename ... on MessageAdded { message { id body } } ... on StreamResync { reason } }
}`;
export const SEND = `mutation BenchSend($input: SendMessageInput!) { sendMessage(input: $input) { id seq } }`;

/** A graphql-ws client of the bench's, connected (acknowledged), and its socket. */
async function openClient(wsUrl: string, accessToken: string) {
  let socket: WebSocket | undefined;
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${accessToken}`, clientName: BENCH_CLIENT },
    on: { connected: (connected) => (socket = connected as WebSocket) },
  });
  await new Promise<void>((resolve, reject) => {
    const off = client.on('connected', () => {
      off();
      resolve();
    });
    client.on('closed', (event) => reject(new Error(`socket closed: ${JSON.stringify(event)}`)));
  });
  return { client, socket: socket! };
}

/**
 * Clients of Parley routers: graphql-ws sockets subscribed to `events`, each on the next router in turn;
 * sends are `sendMessage` over HTTP, each to the next router in turn.
 */
export function parleyTarget(routers: { url: string; wsUrl: string }[]): FanoutTarget {
  let sockets = 0;
  let sends = 0;
  // Bodies repeat from one run of the scenario to the next: the idempotency key must not (a repeated one is a
  // retry, answered with the first message and no new event). The run and the send's number make it.
  const run = randomUUID();
  return {
    async connect(user, onMessage) {
      const { client } = await openClient(routers[sockets++ % routers.length]!.wsUrl, user.accessToken);
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
    async connectSlow(user, subscriptions) {
      const { client, socket } = await openClient(routers[0]!.wsUrl, user.accessToken);
      const lagged: number[] = [];
      for (let index = 0; index < subscriptions; index += 1) {
        let messages = 0;
        let told = false;
        client.subscribe<{ events: { __typename: string; reason?: string } }>(
          { query: SLOW_EVENTS },
          {
            next: ({ data }) => {
              if (data?.events.__typename === 'MessageAdded') messages += 1;
              if (data?.events.reason === 'LAGGING' && !told) {
                told = true;
                lagged.push(messages);
              }
            },
            error: (error) => console.error('slow subscription error', error),
            complete: () => undefined,
          },
        );
      }
      return {
        pause: () => socket.pause(),
        resume: () => socket.resume(),
        lagged: () => lagged,
        close: () => void client.dispose(),
      };
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
          variables: { input: { conversationId, body, clientMutationId: `${run}:${sends}` } },
        }),
      });
      const answer = (await response.json()) as { errors?: unknown };
      if (answer.errors) throw new Error(`send failed: ${JSON.stringify(answer.errors)}`);
    },
  };
}
