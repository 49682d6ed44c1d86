export {
  describePubSubContract,
  type PubSubContractFactory,
  type PubSubContractInstance,
} from './pubsub-contract.js';
export * from './databases.js';
export * from './graphql-client.js';
