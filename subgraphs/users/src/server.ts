import { readFileSync } from 'node:fs';
import {
  createSubgraphServer,
  createTokenVerifier,
  type Clock,
  type Logger,
  type Plugin,
  type PubSub,
  type Registry,
  type ServiceAuth,
  type SessionRevocations,
  type SubgraphHttpConfig,
} from '@parley/kit';
import { parse } from 'graphql';
import { createAuthService } from './auth/auth-service.js';
import type { Keyring } from './auth/keyring.js';
import type { LoginThrottle } from './auth/login-throttle.js';
import { createLoaders, type UsersContext, type UsersServices } from './context.js';
import { createContactStore } from './data/contact-store.js';
import type { PrismaClient } from './data/database.js';
import { createDeviceStore } from './data/device-store.js';
import type { OutboxRelay } from './data/outbox.js';
import { createSessionStore } from './data/session-store.js';
import { createUserStore } from './data/user-store.js';
import { resolvers } from './resolvers/index.js';

// Read from src/ whether this module runs there or from the build in dist/ (which has no copy).
export const usersTypeDefs = parse(readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'));

export const JWKS_PATH = '/.well-known/jwks.json';

export interface UsersServerDeps {
  prisma: PrismaClient;
  keyring: Keyring;
  throttle: LoginThrottle;
  revocations: SessionRevocations;
  events: PubSub;
  /** Delivers `users.updated` from the outbox (service.ts starts its timer). */
  relay: Pick<OutboxRelay, 'flush'>;
  logger: Logger;
  metrics: Registry;
  /** Signs and verifies service-to-service tokens (`presenceAudienceOf` accepts nothing else). */
  serviceAuth: ServiceAuth;
  config: {
    issuer: string;
    audience: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    refreshTokenReuseGraceSeconds: number;
    http: SubgraphHttpConfig;
  };
  ready?: () => Promise<boolean>;
  /**
   * What sessions and access tokens go by (expiry, rotation, revocation): the system's time by default. The
   * keyring must sign with the same clock, or tokens would expire by one time and be checked by another.
   */
  clock?: Clock;
}

/** Publishes the public signing keys so every service verifies access tokens without a shared secret. */
function useJwks(keyring: Keyring): Plugin {
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname !== JWKS_PATH) return;
      endResponse(
        new fetchAPI.Response(JSON.stringify(keyring.jwks), {
          headers: { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' },
        }),
      );
    },
  };
}

/** The users subgraph as a yoga server, from its clients; index.ts wires and listens. */
export function createUsersServer(deps: UsersServerDeps) {
  const users = createUserStore(deps.prisma);
  const sessions = createSessionStore(deps.prisma, { ...deps.config, clock: deps.clock });
  const services: UsersServices = {
    users,
    sessions,
    contacts: createContactStore(deps.prisma),
    devices: createDeviceStore(deps.prisma),
    events: deps.events,
    relay: deps.relay,
    serviceAuth: deps.serviceAuth,
    auth: createAuthService({
      users,
      sessions,
      keyring: deps.keyring,
      throttle: deps.throttle,
      revocations: deps.revocations,
      events: deps.events,
      accessTokenTtlSeconds: deps.config.accessTokenTtlSeconds,
    }),
  };
  return createSubgraphServer<UsersContext>({
    name: 'users',
    typeDefs: usersTypeDefs,
    resolvers,
    logger: deps.logger,
    metrics: deps.metrics,
    ...deps.config.http,
    ready: deps.ready,
    verifyToken: createTokenVerifier({
      issuer: deps.config.issuer,
      audience: deps.config.audience,
      keys: deps.keyring.verificationKeys,
      revocations: deps.revocations,
      clock: deps.clock,
    }),
    plugins: [useJwks(deps.keyring)],
    extendContext: (base, request) => ({
      ...base,
      ...services,
      authorization: request.headers.get('authorization'),
      loaders: createLoaders(services, base.viewer?.userId ?? null),
    }),
  });
}
