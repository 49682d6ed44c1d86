import { readFileSync } from 'node:fs';
import {
  createSubgraphServer,
  createTokenVerifier,
  type Logger,
  type Registry,
  type SessionRevocations,
  type SubgraphHttpConfig,
  type TokenVerification,
} from '@parley/kit';
import { createMembershipReader, type MembershipProjection, type MembershipRepair } from '@parley/membership';
import { parse } from 'graphql';
import { createLoaders, type FilesContext } from './context.js';
import { createFilesService, type FilesServiceDeps } from './files-service.js';
import { resolvers } from './resolvers/index.js';

// Read from src/ whether this module runs there or from the build in dist/ (which has no copy).
export const filesTypeDefs = parse(readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'));

/** What the rules need (FilesServiceDeps), and what serving them takes. */
export interface FilesServerDeps extends FilesServiceDeps {
  /** Who belongs to which conversation (written by conversations): who may see a file sent there. */
  projection: MembershipProjection;
  /** conversations' syncMembershipProjection, for entries the projection lost (with the viewer's token). */
  repairMembership: MembershipRepair;
  revocations: SessionRevocations;
  metrics: Registry;
  config: { token: TokenVerification; http: SubgraphHttpConfig };
  ready?: () => Promise<boolean>;
  logger: Logger;
}

/** The files subgraph and its rules (for the background work). */
export function createFilesServer(deps: FilesServerDeps) {
  const service = createFilesService(deps);
  const yoga = createSubgraphServer<FilesContext>({
    name: 'files',
    typeDefs: filesTypeDefs,
    resolvers,
    logger: deps.logger,
    metrics: deps.metrics,
    ...deps.config.http,
    ready: deps.ready,
    // Tokens expire by the service's clock too, like its signed URLs and uploads.
    verifyToken: createTokenVerifier({
      ...deps.config.token,
      revocations: deps.revocations,
      clock: deps.clock,
    }),
    extendContext: (base, request) => {
      const authorization = request.headers.get('authorization') ?? '';
      const caller = { authorization, requestId: base.requestId };
      const membership = createMembershipReader({
        projection: deps.projection,
        repair: (conversationIds) => deps.repairMembership(conversationIds, caller),
      });
      const actor = base.viewer && { viewer: base.viewer, membership, ...caller };
      return { ...base, service, authorization, membership, loaders: createLoaders(service, actor) };
    },
  });
  return { yoga, service };
}
