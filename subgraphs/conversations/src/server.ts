import { readFileSync } from 'node:fs';
import {
  createSubgraphServer,
  createTokenVerifier,
  type Logger,
  type PubSub,
  type RealtimeLog,
  type Registry,
  type ServiceAuth,
  type SessionRevocations,
  type SubgraphHttpConfig,
  type TokenVerification,
} from '@parley/kit';
import { type MembershipProjection } from '@parley/membership';
import type { UserRelationsClient } from '@parley/users/client';
import { parse } from 'graphql';
import { createLoaders, type ConversationsContext, type ConversationsServices } from './context.js';
import { createConversationService } from './conversation-service.js';
import { createConversationStore } from './data/conversation-store.js';
import type { PrismaClient } from './data/database.js';
import { createOutboxRelay } from './data/outbox.js';
import { resolvers } from './resolvers/index.js';

// Read from src/ whether this module runs there or from the build in dist/ (which has no copy).
export const conversationsTypeDefs = parse(
  readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'),
);

export interface ConversationsServerDeps {
  prisma: PrismaClient;
  projection: MembershipProjection;
  events: PubSub;
  /** Where subscriptions read committed events from (see data/outbox.ts). */
  log: RealtimeLog;
  users: UserRelationsClient;
  revocations: SessionRevocations;
  logger: Logger;
  metrics: Registry;
  /** Signs and verifies service-to-service tokens (`coMembersOf` accepts nothing else). */
  serviceAuth: ServiceAuth;
  config: {
    token: TokenVerification;
    http: SubgraphHttpConfig;
    maxGroupMembers: number;
    listCursorTtlSeconds: number;
    receiptsMaxMembers: number;
  };
  ready?: () => Promise<boolean>;
}

/** The conversations subgraph and its outbox relay, from its clients. */
export function createConversationsServer(deps: ConversationsServerDeps) {
  const conversations = createConversationStore(deps.prisma);
  const relay = createOutboxRelay({
    prisma: deps.prisma,
    conversations,
    projection: deps.projection,
    events: deps.events,
    log: deps.log,
    logger: deps.logger,
  });
  const services: ConversationsServices = {
    conversations,
    relay,
    log: deps.log,
    serviceAuth: deps.serviceAuth,
    service: createConversationService({
      conversations,
      relay,
      users: deps.users,
      maxGroupMembers: deps.config.maxGroupMembers,
    }),
    config: {
      listCursorTtlSeconds: deps.config.listCursorTtlSeconds,
      receiptsMaxMembers: deps.config.receiptsMaxMembers,
    },
  };
  const yoga = createSubgraphServer<ConversationsContext>({
    name: 'conversations',
    typeDefs: conversationsTypeDefs,
    resolvers,
    logger: deps.logger,
    metrics: deps.metrics,
    ...deps.config.http,
    ready: deps.ready,
    verifyToken: createTokenVerifier({ ...deps.config.token, revocations: deps.revocations }),
    extendContext: (base, request) => {
      const authorization = request.headers.get('authorization') ?? '';
      return {
        ...base,
        ...services,
        authorization,
        loaders: createLoaders(conversations, base.viewer?.userId ?? null, deps.users, {
          authorization,
          requestId: base.requestId,
        }),
      };
    },
  });
  return { yoga, relay, conversations };
}
