export * from './membership-contract.js';
