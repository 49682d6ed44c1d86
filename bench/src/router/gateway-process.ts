/**
 * Child process: one router in front of the running subgraphs (BENCH_GATEWAY, a JSON GatewayConfig), on a
 * free port. Every one forwards the caller's Authorization header (the subgraphs check the token themselves).
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { createGatewayRuntime } from '@graphql-hive/gateway';
import { createLogger } from '@parley/kit';
import { readRouterEnv } from '@parley/router/env';
import { startRouterService } from '@parley/router/service';
import { serveParent } from '../lib/child.js';
import type { GatewayConfig } from './gateways.js';

const config = JSON.parse(process.env['BENCH_GATEWAY'] ?? '') as GatewayConfig;
const supergraphSdl = await readFile(config.supergraphPath, 'utf8');

const listenOn = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
const closing = (server: Server) => () =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

async function parleyRouter() {
  const router = await startRouterService(
    readRouterEnv({
      NODE_ENV: 'production',
      PORT: '0',
      METRICS_PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: config.redisUrl,
      REDIS_PREFIX: config.redisPrefix,
      SERVICE_TOKEN_SECRET: config.serviceTokenSecret,
      ...Object.fromEntries(
        Object.entries(config.subgraphUrls).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, url]),
      ),
      // Production's persisted-only mode: the query is registered for the client `parley-bench`, which sends
      // its text (the same bytes the peers get) and its name; one user sends every request.
      PERSISTED_DOCUMENTS_DIR: config.persistedDocumentsDir,
      RATE_LIMIT_PER_USER: '100000000',
      RATE_LIMIT_PER_IP: '100000000',
      WS_MAX_CONNECTIONS_PER_IP: '100000',
      WS_MAX_CONNECTIONS_PER_USER: '100',
      LOG_LEVEL: 'warn',
    }),
    createLogger({ service: 'router', level: 'warn' }),
  );
  return { url: `${router.url}/graphql`, wsUrl: `${router.wsUrl}/graphql`, stop: router.stop };
}

async function hiveGateway() {
  const gateway = createGatewayRuntime({
    supergraph: supergraphSdl,
    logging: false,
    propagateHeaders: {
      fromClientToSubgraphs: ({ request }) => {
        const authorization = request.headers.get('authorization');
        return authorization ? { authorization } : {};
      },
    },
  });
  const server = createServer(gateway);
  const url = await listenOn(server);
  return {
    url: `${url}/graphql`,
    stop: async () => {
      await closing(server)();
      await gateway.dispose();
    },
  };
}

async function apolloServer() {
  const server = new ApolloServer<{ authorization?: string }>({
    gateway: new ApolloGateway({
      supergraphSdl,
      buildService: ({ url }) =>
        new RemoteGraphQLDataSource<{ authorization?: string }>({
          url,
          willSendRequest({ request, context }) {
            if (context.authorization) request.http?.headers.set('authorization', context.authorization);
          },
        }),
    }),
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  return { url: new URL('/graphql', url).toString(), stop: () => server.stop() };
}

const starters = {
  'parley-router': parleyRouter,
  'hive-gateway': hiveGateway,
  'apollo-server': apolloServer,
};
const gateway = await starters[config.name]();
serveParent({ url: gateway.url, wsUrl: 'wsUrl' in gateway ? gateway.wsUrl : undefined }, gateway.stop);
