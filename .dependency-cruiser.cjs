/**
 * `npm run deps:check`: who may import whom. Services own their domains and talk through the graph, the bus
 * and the event streams; what one may take from another is the other's contract: its events (`src/events.ts`,
 * `@parley/<service>/events`) and the client of its internal API (`src/client.ts`, `@parley/<service>/client`),
 * nothing else. The kernel (`packages/kit`) is infrastructure: it imports no service. The membership projection
 * (`packages/membership`), conversations' contract with every reader, depends on the kit alone.
 */
const SERVICES = '(users|conversations|messages|presence|files)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'subgraph-imports-subgraph',
      comment:
        'A subgraph takes nothing from another but its contract (src/events.ts, src/client.ts): ask it through the graph or its client, or follow its events.',
      severity: 'error',
      from: { path: `^subgraphs/${SERVICES}/` },
      to: {
        path: `^subgraphs/${SERVICES}/`,
        pathNot: ['^subgraphs/$1/', `^subgraphs/${SERVICES}/src/(events|client)\\.ts$`],
      },
    },
    {
      name: 'router-imports-subgraph',
      comment: 'The router composes subgraphs over HTTP; of their code it takes only their contracts.',
      severity: 'error',
      from: { path: '^router/src/' },
      to: { path: `^subgraphs/${SERVICES}/`, pathNot: `^subgraphs/${SERVICES}/src/(events|client)\\.ts$` },
    },
    {
      name: 'kit-imports-domain',
      comment:
        'packages/kit is infrastructure for every service: it imports none of them, nor the router or the web app.',
      severity: 'error',
      from: { path: '^packages/kit/' },
      to: { path: '^(subgraphs|router|web|packages/(platform|testkit|membership))/' },
    },
    {
      name: 'membership-imports-service',
      comment:
        "packages/membership is the conversations service's projection contract, read by every service: it depends on the kit only.",
      severity: 'error',
      from: { path: '^packages/membership/' },
      to: { path: '^(subgraphs|router|web|packages/(platform|testkit))/' },
    },
    {
      name: 'event-contract-imports-service-code',
      comment:
        'A contract is imported by other services: it depends on the kit and zod only, never on its service.',
      severity: 'error',
      from: { path: `^subgraphs/${SERVICES}/src/(events|client)\\.ts$` },
      to: { path: '^(subgraphs|router)/' },
    },
    {
      name: 'no-circular',
      comment: 'Modules that import each other at run time, directly or through others.',
      severity: 'error',
      from: { path: '^(packages|subgraphs|router)/' },
      // Type-only imports vanish from the JavaScript: a cycle through them is no cycle at run time.
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|generated|\\.next)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      // `@parley/source`: workspace packages resolve to their TypeScript sources, not to the build in dist/.
      conditionNames: ['@parley/source', 'import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
