import { readFileSync } from 'node:fs';
import {
  createSubgraphServer,
  createTokenVerifier,
  type EventStream,
  type Logger,
  type PubSub,
  type RealtimeLog,
  type Registry,
  type SessionRevocations,
  type SubgraphHttpConfig,
  type TokenVerification,
} from '@parley/kit';
import { type MembershipProjection } from '@parley/membership';
import type { UserRelationsClient } from '@parley/users/client';
import { parse } from 'graphql';
import {
  createLoaders,
  createRequestMembership,
  type MessagesContext,
  type MessagesServices,
} from './context.js';
import type { MessageStore } from './data/message-store.js';
import { createMessageService, type MessageLimits } from './message-service.js';
import { createOutboxRelay } from './outbox-relay.js';
import { resolvers } from './resolvers/index.js';
import type { ConversationsClient } from './conversations-client.js';
import type { FilesClient } from './files-client.js';

// Read from src/ whether this module runs there or from the build in dist/ (which has no copy).
export const messagesTypeDefs = parse(
  readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'),
);

export interface MessagesServerDeps {
  messages: MessageStore;
  projection: MembershipProjection;
  events: PubSub;
  stream: EventStream;
  /** Where subscriptions read committed events from (see outbox-relay.ts). */
  log: RealtimeLog;
  users: UserRelationsClient;
  conversations: ConversationsClient;
  files: FilesClient;
  revocations: SessionRevocations;
  logger: Logger;
  metrics: Registry;
  config: {
    token: TokenVerification;
    http: SubgraphHttpConfig;
    limits: MessageLimits;
  };
  ready?: () => Promise<boolean>;
}

/** The messages subgraph and its outbox relay, from its clients. */
export function createMessagesServer(deps: MessagesServerDeps) {
  const relay = createOutboxRelay({
    messages: deps.messages,
    events: deps.events,
    stream: deps.stream,
    log: deps.log,
    logger: deps.logger,
  });
  const services: MessagesServices = {
    messages: deps.messages,
    projection: deps.projection,
    conversationsClient: deps.conversations,
    service: createMessageService({
      messages: deps.messages,
      projection: deps.projection,
      users: deps.users,
      conversations: deps.conversations,
      files: deps.files,
      relay,
      limits: deps.config.limits,
    }),
  };
  const yoga = createSubgraphServer<MessagesContext>({
    name: 'messages',
    typeDefs: messagesTypeDefs,
    resolvers,
    logger: deps.logger,
    metrics: deps.metrics,
    ...deps.config.http,
    ready: deps.ready,
    verifyToken: createTokenVerifier({ ...deps.config.token, revocations: deps.revocations }),
    extendContext: (base, request) => {
      const authorization = request.headers.get('authorization') ?? '';
      const membership = createRequestMembership(services, { authorization, requestId: base.requestId });
      return {
        ...base,
        ...services,
        authorization,
        membership,
        loaders: createLoaders(deps.messages, membership, base.viewer?.userId ?? null),
      };
    },
  });
  return { yoga, relay };
}
