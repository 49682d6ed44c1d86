/**
 * `npm run bench`: the benchmarks, side by side with their peers in one run, each bounded in time, on loopback;
 * writes its sections of bench/RESULTS.md. `npm run bench -- router fanout history start` picks some (all by default).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import { subscriptionFanout } from './fanout/run.js';
import { historyAtScale } from './history/run.js';
import { routerThroughput } from './router/throughput.js';
import { startAndFootprint } from './start/run.js';

const suites = {
  router: {
    title: '1. Router throughput: Parley router vs Hive Gateway vs Apollo Server + @apollo/gateway',
    run: () => routerThroughput({ connections: 32, seconds: seconds(20), warmupSeconds: 5 }),
  },
  fanout: {
    title: '2. Subscription fan-out: Parley router vs Socket.IO + Redis adapter',
    run: () =>
      subscriptionFanout({
        socketsPerUser: Number(process.env['FANOUT_SOCKETS_PER_USER'] ?? 10),
        rates: (process.env['FANOUT_RATES'] ?? '10,20,30').split(',').map(Number),
        seconds: seconds(10),
      }),
  },
  history: {
    title: '3. History at scale: a page of 50 in 1,000 vs 1,000,000 messages',
    run: () => historyAtScale({ connections: 8, seconds: seconds(10), warmupSeconds: 3 }),
  },
  start: {
    title: '4. `npm start`: time to ready, footprint and idle cost of the embedded default',
    run: () => startAndFootprint({ idleSeconds: seconds(30) }),
  },
};
type SuiteName = keyof typeof suites;

/** BENCH_SECONDS shortens (or lengthens) every measured phase, for a quick check of the benchmarks. */
function seconds(fallback: number) {
  return Number(process.env['BENCH_SECONDS'] ?? fallback);
}

const requested = process.argv.slice(2).filter((arg) => arg !== '--');
const unknown = requested.filter((name) => !(name in suites));
if (unknown.length > 0)
  throw new Error(`unknown benchmark ${unknown.join(', ')}; pick from ${Object.keys(suites).join(', ')}`);
const chosen = (requested.length > 0 ? requested : Object.keys(suites)) as SuiteName[];

/** An installed package's version (from its package.json, which not every package exports). */
async function versionOf(name: string) {
  for (const modules of ['../node_modules/', '../../node_modules/']) {
    const text = await readFile(new URL(`${modules}${name}/package.json`, import.meta.url), 'utf8').catch(
      () => null,
    );
    if (text) return (JSON.parse(text) as { version: string }).version;
  }
  return 'unknown';
}

async function machine() {
  const database = new pg.Client({
    connectionString: process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  });
  await database.connect();
  const { rows } = await database.query<{ server_version: string }>('SHOW server_version');
  await database.end();
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  const info = await redis.info('server');
  redis.disconnect();
  const packages = [
    'graphql-yoga',
    '@apollo/gateway',
    '@graphql-hive/gateway',
    '@apollo/server',
    'graphql-ws',
    'socket.io',
    '@socket.io/redis-adapter',
    'autocannon',
  ];
  return [
    `${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version};`,
    `PostgreSQL ${rows[0]?.server_version}; Redis ${/redis_version:(\S+)/.exec(info)?.[1]};`,
    (await Promise.all(packages.map(async (name) => `${name} ${await versionOf(name)}`))).join(', ') + '.',
  ].join(' ');
}

const resultsPath = new URL('../RESULTS.md', import.meta.url);
const header = `# Benchmark results

Written by \`npm run bench\` (\`bench/src/index.ts\`; see [README.md](README.md)): one section per benchmark, each
saying when, with which command and on what it was measured; the notes at the end are written by hand.
Loopback only; every phase is bounded in time.`;

/** The file's sections by benchmark, and its hand-written notes (between `<!-- notes -->` markers). */
const previous = await readFile(resultsPath, 'utf8').catch(() => '');
const sections = new Map<string, string>();
for (const match of previous.matchAll(/<!-- bench:(\w+) -->[\s\S]*?<!-- \/bench:\1 -->/g)) {
  sections.set(match[1]!, match[0]);
}
const notes =
  /<!-- notes -->[\s\S]*?<!-- \/notes -->/.exec(previous)?.[0] ?? '<!-- notes -->\n<!-- /notes -->';

const about = await machine();
const knobs = Object.entries(process.env)
  .filter(([key]) => /^(BENCH_SECONDS|FANOUT_|HISTORY_)/.test(key))
  .map(([key, value]) => `${key}=${value}`);
for (const name of chosen) {
  const suite = suites[name];
  console.log(`\n== ${suite.title}`);
  const { markdown } = await suite.run();
  sections.set(
    name,
    [
      `<!-- bench:${name} -->`,
      `## ${suite.title}`,
      '',
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC with \`npm run bench -- ${name}\`${knobs.length > 0 ? ` (${knobs.join(' ')})` : ''} on: ${about}`,
      '',
      markdown,
      `<!-- /bench:${name} -->`,
    ].join('\n'),
  );
  console.log(sections.get(name));
  // Written after each benchmark, in the order of `suites`, so an interrupted run keeps what it measured.
  const ordered = Object.keys(suites).flatMap((key) => sections.get(key) ?? []);
  await writeFile(resultsPath, [header, ...ordered, notes].join('\n\n') + '\n');
}
