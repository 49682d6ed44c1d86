import { defineConfig } from 'vitest/config';

// Two tiers (CONVENTIONS.md §6): `*.test.ts` run in-process (yoga.fetch, no socket) and `*.e2e.ts`
// start real servers on port 0. Both talk to real PostgreSQL and Redis.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{packages,subgraphs,router}/*/{src,test}/**/*.test.ts'],
          globalSetup: ['packages/testkit/src/global-setup.ts'],
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['{packages,subgraphs,router}/*/{src,test}/**/*.e2e.ts', 'test/**/*.e2e.ts'],
          globalSetup: ['packages/testkit/src/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
