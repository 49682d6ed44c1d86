export {
  describePubSubContract,
  type PubSubContractFactory,
  type PubSubContractInstance,
} from './pubsub-contract.js';
export {
  describeEventStreamContract,
  type EventStreamContractFactory,
  type EventStreamContractInstance,
} from './event-stream-contract.js';
export {
  describeRealtimeLogContract,
  expectDeliveredOnce,
  followInto,
  numberedEvent,
  numberRange,
  numbersOf,
  readAllAfter,
  type RealtimeLogContractFactory,
  type RealtimeLogContractInstance,
} from './realtime-log-contract.js';
export * from './databases.js';
export * from './graphql-client.js';
export * from './flaky-pubsub.js';
export * from './service-auth.js';
export * from './redis-server.js';
export * from './test-clock.js';
