export * from './compose.js';
export * from './files.js';
export * from './subgraphs.js';
