export * from '@parley/kit/testing';
export * from './parley.js';
export * from './realtime.js';
export * from './npm-start.js';
