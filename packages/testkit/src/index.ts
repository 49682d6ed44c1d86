export * from './databases.js';
export * from './graphql-client.js';
