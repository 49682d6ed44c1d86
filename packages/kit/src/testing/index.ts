export {
  describePubSubContract,
  type PubSubContractFactory,
  type PubSubContractInstance,
} from './pubsub-contract.js';
