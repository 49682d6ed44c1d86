export * from './compose.js';
export * from './files.js';
export * from './subgraphs.js';
export * from './viewer-declarations.js';
