import { readFileSync } from 'node:fs';
import {
  createSubgraphServer,
  createTokenVerifier,
  type Clock,
  type Logger,
  type Registry,
  type SessionRevocations,
  type SubgraphHttpConfig,
  type TokenVerification,
} from '@parley/kit';
import { parse } from 'graphql';
import { createLoaders, type PresenceContext } from './context.js';
import { createPresencePublisher } from './publisher.js';
import { createPresenceService, type PresenceServiceDeps } from './presence-service.js';
import { resolvers } from './resolvers/index.js';

// Read from src/ whether this module runs there or from the build in dist/ (which has no copy).
export const presenceTypeDefs = parse(
  readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'),
);

/** What the rules need (PresenceServiceDeps), and what serving them takes. */
export interface PresenceServerDeps extends PresenceServiceDeps {
  revocations: SessionRevocations;
  logger: Logger;
  metrics: Registry;
  config: { token: TokenVerification; http: SubgraphHttpConfig };
  ready?: () => Promise<boolean>;
  /** The stores' clock, for the publisher's leases (the system's by default). */
  clock?: Clock;
}

/** The presence subgraph, its rules (for the background work) and its publisher. */
export function createPresenceServer(deps: PresenceServerDeps) {
  const service = createPresenceService(deps);
  const publisher = createPresencePublisher(deps);
  const yoga = createSubgraphServer<PresenceContext>({
    name: 'presence',
    typeDefs: presenceTypeDefs,
    resolvers,
    logger: deps.logger,
    metrics: deps.metrics,
    ...deps.config.http,
    ready: deps.ready,
    verifyToken: createTokenVerifier({ ...deps.config.token, revocations: deps.revocations }),
    extendContext: (base, request) => {
      const authorization = request.headers.get('authorization') ?? '';
      const caller = { authorization, requestId: base.requestId };
      const actor = base.viewer && { viewer: base.viewer, caller };
      return { ...base, service, authorization, loaders: createLoaders(service, actor) };
    },
  });
  return { yoga, publisher, service };
}
