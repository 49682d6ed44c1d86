/**
 * Child process: every subgraph on real PostgreSQL and Redis (the test kit's platform, with its own databases),
 * seeded for one benchmark (BENCH_SEED), then reports the subgraphs' URLs and what the seed made.
 */
import { startParley } from '@parley/testkit';
import { serveParent } from './child.js';
import { seeds, type SeedName } from './seeds.js';

const seedName = process.env['BENCH_SEED'] as SeedName;
const seed = seeds[seedName];
if (!seed) throw new Error(`BENCH_SEED must be one of ${Object.keys(seeds).join(', ')}`);

const parley = await startParley({
  label: `bench_${seedName}`,
  usersEnv: { ACCESS_TOKEN_TTL_SECONDS: '7200', LOG_LEVEL: 'warn' },
  routerEnv: { RATE_LIMIT_PER_USER: '1000000', RATE_LIMIT_PER_IP: '1000000' },
});
const seeded = await seed(parley);

/** What the platform process reports to the benchmark. */
export interface PlatformReady {
  subgraphUrls: Record<string, string>;
  redisUrl: string;
  redisPrefix: string;
  serviceTokenSecret: string;
  seeded: unknown;
}

serveParent<PlatformReady>(
  {
    subgraphUrls: parley.subgraphUrls,
    redisUrl: parley.redisUrl,
    redisPrefix: parley.redisPrefix,
    serviceTokenSecret: parley.serviceTokenSecret,
    seeded,
  },
  () => parley.stop(),
);
