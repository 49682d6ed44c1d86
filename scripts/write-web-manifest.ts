import { copyFile } from 'node:fs/promises';

/**
 * The web app's persisted-documents manifest, written by codegen into web/src/generated (not committed),
 * is copied to where the router loads trusted documents from: router/persisted/parley-web.json. That copy
 * is committed (a contract between the app and the graph) and `npm run persisted:check` keeps it current.
 */
await copyFile('web/src/generated/persisted-documents.json', 'router/persisted/parley-web.json');
