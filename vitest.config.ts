import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// graphql 16 ships CommonJS (`main`) and ESM (`module`) builds. Node loads the CommonJS one for every
// importer, but Vite would hand our ESM code the ESM build while CommonJS dependencies (@apollo/*) get
// the other: two GraphQLError classes, and `instanceof` checks fail. Pin tests to what Node runs.
const graphqlCommonJs = createRequire(import.meta.url).resolve('graphql');

// Three tiers. `unit`: `*.test.ts`, in-process, with neither PostgreSQL nor Redis (they may be stopped).
// `int`: `*.int.test.ts`, in-process against real PostgreSQL and Redis. `e2e`: `*.e2e.ts`, real servers on
// port 0 against both.
const unit = [
  '{packages,subgraphs}/*/{src,test}/**/*.test.ts',
  '{schema,router}/{src,test}/**/*.test.ts',
  'test/**/*.test.ts',
  'web/src/**/*.test.ts',
];
const integration = unit.map((pattern) => pattern.replace(/\*\.test\.ts$/, '*.int.test.ts'));
const e2e = [
  '{packages,subgraphs}/*/{src,test}/**/*.e2e.ts',
  '{schema,router}/{src,test}/**/*.e2e.ts',
  'test/**/*.e2e.ts',
];
/**
 * E2e files that run after every other file, two at a time, each in a fresh module graph: they time
 * keepalives, start many processes, or compare two viewers' results while presence changes under them;
 * alongside the many-file load of the other tiers their timing would be skewed.
 */
const e2eAfter = [
  'test/start.e2e.ts',
  'test/embedded-lifecycle.e2e.ts',
  'test/scale-out/**/*.e2e.ts',
  'test/realtime/limits.e2e.ts',
  'test/realtime/viewer-equality.e2e.ts',
];
/**
 * Then one at a time: the browser tests (Next.js and Chromium; two browsers at once on two cores miss the
 * 2 s in which live changes must show) and the outages, whose recovery is timed against its target.
 */
const e2eAlone = ['test/web/**/*.e2e.ts', 'test/faults/**/*.e2e.ts'];

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlCommonJs }] },
  // Workspace packages from their TypeScript sources (the `@parley/source` export condition), not their
  // builds in dist/. Tests run in Vite's `ssr` environment, which ignores `resolve.conditions`; Vitest adds
  // its default conditions (`node`, `development|production`) to these and passes them all to its workers.
  ssr: { resolve: { conditions: ['@parley/source'] } },
  test: {
    // Two files at a time (two cores), each worker importing the code once for all its files (`isolate:
    // false`: no file keeps state in a module that another would trip over; each starts its own platform).
    maxWorkers: 2,
    isolate: false,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: unit,
          exclude: integration,
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'int',
          include: integration,
          globalSetup: ['packages/kit/src/testing/global-setup.ts'],
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: e2e,
          exclude: [...e2eAfter, ...e2eAlone],
          globalSetup: ['packages/kit/src/testing/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e-after',
          include: e2eAfter,
          globalSetup: ['packages/kit/src/testing/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // After every other file, each in a fresh module graph (two at a time, as everywhere).
          sequence: { groupOrder: 1 },
          isolate: true,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e-alone',
          include: e2eAlone,
          globalSetup: ['packages/kit/src/testing/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 2 },
          fileParallelism: false,
          isolate: true,
        },
      },
    ],
  },
});
