export * from './apq-store.js';
export * from './manifest.js';
export * from './persisted-documents.js';
export * from './register-manifest.js';
