export * from './auth.js';
export * from './client-ip.js';
export * from './clock.js';
export * from './env.js';
export * from './errors.js';
// Listed rather than `*`: the rest of event-stream.ts are helpers the realtime log shares, not kit API.
export {
  createMemoryEventStream,
  createRedisEventStream,
  DEFAULT_STREAM_MAX_LENGTH,
  type EventStream,
  type RedisEventStreamOptions,
} from './event-stream.js';
export * from './http.js';
export * from './logger.js';
export * from './metrics.js';
export * from './pubsub.js';
export * from './realtime-log.js';
export * from './request-id.js';
export * from './service-auth.js';
export * from './session-revocations.js';
export * from './topics.js';
export * from './resources.js';
export * from './shutdown.js';
export * from './graphql-server.js';
export * from './subgraph-server.js';
export * from './migrations.js';
export * from './embedded-postgres.js';
export * from './pagination.js';
export * from './validation.js';
export * from './use-query-limits.js';
export * from './service-database.js';
export * from './service-redis.js';
export * from './redis-close.js';
export * from './relay-loop.js';
export * from './subgraph-call.js';
