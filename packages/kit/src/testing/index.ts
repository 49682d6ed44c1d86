export {
  describePubSubContract,
  type PubSubContractFactory,
  type PubSubContractInstance,
} from './pubsub-contract.js';
export {
  describeMembershipProjectionContract,
  type MembershipContractFactory,
  type MembershipContractInstance,
} from './membership-contract.js';
export * from './databases.js';
export * from './graphql-client.js';
