/**
 * Subscription fan-out: the same users, groups and clients against the Parley router (graphql-ws, events
 * from Redis) and against a Socket.IO + Redis adapter baseline, one after the other, in one run.
 */
import { startChild, withProfiles, type Child } from '../lib/child.js';
import { fixed, table, verdict } from '../lib/format.js';
import type { PlatformReady } from '../lib/platform-process.js';
import { startGateway } from '../router/gateways.js';
import { EVENTS, parleyTarget, SEND, SLOW_EVENTS } from './parley.js';
import { countRoundTrips, type RoundTrips } from './round-trips.js';
import {
  runFanout,
  type FanoutStep,
  type FanoutWorld,
  type SlowClientOptions,
  type SlowClientSteps,
} from './scenario.js';
import { socketIoTarget } from './socketio.js';

export interface FanoutOptions {
  socketsPerUser: number;
  rates: number[];
  seconds: number;
}

interface SideResult {
  name: string;
  clients: number;
  bytesPerClient: number;
  /** Live memory (V8 heap in use and external buffers, after a GC) per client: what RSS hides or inflates. */
  liveBytesPerClient: number;
  steps: FanoutStep[];
  slow?: SlowClientSteps;
}

/** Memory of `servers` after a full collection: resident, and live (heap in use and buffers), summed. */
async function settledMemory(servers: Child<unknown>[]) {
  const each = await Promise.all(
    servers.map(async (server) => ({
      live: await server.ask<number>({ memory: true }),
      rss: await server.rss(),
    })),
  );
  return {
    rss: each.reduce((sum, { rss }) => sum + rss, 0),
    live: each.reduce((sum, { live }) => sum + live, 0),
  };
}

/** One side of the comparison: `servers` are its processes (their CPU and memory summed). */
async function measure(
  name: string,
  servers: Record<string, Child<unknown>>,
  world: FanoutWorld,
  target: Parameters<typeof runFanout>[1],
  options: FanoutOptions,
  slowClient?: SlowClientOptions,
): Promise<SideResult> {
  const processes = Object.values(servers);
  // Per client: the slope from half the clients to all of them, both points well after start-up (whose
  // transient memory, given back to the system at its own pace, would otherwise blur a before/after pair).
  let before = await settledMemory(processes);
  let clientsBefore = 0;
  let clients = 0;
  let bytesPerClient = 0;
  let liveBytesPerClient = 0;
  const { steps, slow } = await withProfiles(servers, () =>
    runFanout(world, target, {
      ...options,
      slowClient,
      serverCpuMs: async () =>
        (await Promise.all(processes.map((server) => server.cpuMs()))).reduce((sum, ms) => sum + ms, 0),
      onHalfConnected: async (count) => {
        clientsBefore = count;
        before = await settledMemory(processes);
      },
      onConnected: async (count) => {
        clients = count;
        const after = await settledMemory(processes);
        bytesPerClient = (after.rss - before.rss) / (count - clientsBefore);
        liveBytesPerClient = (after.live - before.live) / (count - clientsBefore);
        console.log(`fan-out: ${name} holds ${count} clients at ${fixed(bytesPerClient / 1024)} KB each`);
      },
    }),
  );
  return { name, clients, bytesPerClient, liveBytesPerClient, steps, slow };
}

export async function subscriptionFanout(options: FanoutOptions) {
  const platform = await startChild<PlatformReady>(new URL('../lib/platform-process.ts', import.meta.url), {
    BENCH_SEED: 'fanout',
  });
  const world = platform.ready.seeded as FanoutWorld;
  const sides: SideResult[] = [];
  let roundTrips: RoundTrips | undefined;
  try {
    const router = await startGateway(
      'parley-router',
      platform.ready,
      [EVENTS, SLOW_EVENTS, SEND],
      ['--expose-gc'],
    );
    try {
      const target = parleyTarget([{ url: router.ready.url, wsUrl: router.ready.wsUrl! }]);
      // First, while nothing else is connected (the sockets of a run leaving would be counted too).
      roundTrips = await countRoundTrips(world, target, {
        redisUrl: platform.ready.redisUrl,
        databaseUrl: process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
      });
      sides.push(
        await measure('Parley router (graphql-ws)', { 'fanout-parley': router }, world, target, options, {
          rate: 20,
          subscriptions: 25,
          bulkRate: 10,
          bodyChars: 3_900,
          stallSeconds: 8,
        }),
      );
    } finally {
      await router.stop();
    }
    // Scale-out: two router processes on the same Redis, each holding half the sockets and taking half the sends.
    const routers = [
      await startGateway('parley-router', platform.ready, [EVENTS, SEND], ['--expose-gc']),
      await startGateway('parley-router', platform.ready, [EVENTS, SEND], ['--expose-gc']),
    ];
    try {
      const target = parleyTarget(routers.map(({ ready }) => ({ url: ready.url, wsUrl: ready.wsUrl! })));
      const servers = { 'fanout-parley-2a': routers[0]!, 'fanout-parley-2b': routers[1]! };
      sides.push(await measure('Parley, 2 routers (graphql-ws)', servers, world, target, options));
    } finally {
      await Promise.all(routers.map((router) => router.stop()));
    }
    const socketIo = await startChild<{ url: string }>(
      new URL('./socketio-server.ts', import.meta.url),
      { REDIS_URL: platform.ready.redisUrl },
      { execArgv: ['--expose-gc'] },
    );
    try {
      const target = socketIoTarget(socketIo.ready.url, world);
      sides.push(
        await measure(
          'Socket.IO + @socket.io/redis-adapter',
          { 'fanout-socket.io': socketIo },
          world,
          target,
          options,
        ),
      );
    } finally {
      await socketIo.stop();
    }
  } finally {
    await platform.stop();
  }

  const [ours, , baseline] = sides as [SideResult, SideResult, SideResult];
  const members = world.groups[0]!.memberIds.length;
  const rows = options.rates.flatMap((rate, index) =>
    sides.map((side) => {
      const step = side.steps[index]!;
      return [
        side.name,
        rate,
        fixed(step.offeredDeliveriesPerSecond, 0),
        fixed(step.deliveriesPerSecond, 0),
        `${step.delivered}/${step.expected}`,
        step.duplicates,
        step.p50Ms,
        step.p99Ms,
        step.maxMs,
        step.sendP99Ms,
        step.serverCpuUsPerDelivery === null ? '' : fixed(step.serverCpuUsPerDelivery),
      ];
    }),
  );
  /** The highest rate a server kept up with: every delivery, once, with p99 under a second. */
  const sustained = (side: SideResult) =>
    Math.max(
      0,
      ...side.steps
        .filter((step) => step.delivered === step.expected && step.duplicates === 0 && step.p99Ms <= 1000)
        .map((step) => step.deliveriesPerSecond),
    );
  const at20k = ours.steps.find((step) => step.offeredDeliveriesPerSecond >= 20_000);
  const baselineAt20k = baseline.steps.find((step) => step.offeredDeliveriesPerSecond >= 20_000);
  const cpuRatio =
    at20k?.serverCpuUsPerDelivery != null && baselineAt20k?.serverCpuUsPerDelivery
      ? at20k.serverCpuUsPerDelivery / baselineAt20k.serverCpuUsPerDelivery
      : null;
  const perClientKb = ours.bytesPerClient / 1024;
  return {
    markdown: [
      `${world.users.length} users, ${options.socketsPerUser} clients each (${ours.clients} sockets), in ${world.groups.length}`,
      `groups of ${members}: every message is owed to ${members * options.socketsPerUser} clients. Each rate runs for`,
      `${options.seconds} s (random group, random member sending) then drains; latency is from the send's start to`,
      `the client's receipt (same process clock). Parley: \`sendMessage\` over HTTP through the router, \`events\``,
      `subscriptions over graphql-ws (the server in its own process, the subgraphs in another); with 2 routers, two`,
      `such processes on the same Redis, the sockets and the sends dealt to them in turn (their CPU and memory`,
      `summed). Socket.IO: an emit with ack, broadcast to the room through the Redis adapter (one server process).`,
      `Server CPU per delivery: the server processes' user and system time over the step, over its deliveries`,
      `(Parley's includes the \`sendMessage\` requests and the hydration queries it runs for every message).`,
      '',
      table(
        [
          'server',
          'msg/s',
          'offered deliveries/s',
          'deliveries/s',
          'delivered',
          'duplicates',
          'p50 ms',
          'p99 ms',
          'max ms',
          'send p99 ms',
          'server CPU µs/delivery',
        ],
        rows,
      ),
      '',
      table(
        [
          'server',
          'clients',
          'RSS per client (after GC, from half the clients to all)',
          'heap + buffers per client (after GC)',
        ],
        sides.map((side) => [
          side.name,
          side.clients,
          `${fixed(side.bytesPerClient / 1024)} KB`,
          `${fixed(side.liveBytesPerClient / 1024)} KB`,
        ]),
      ),
      '',
      ...(roundTrips
        ? [
            `What one message costs the stores (\`sendMessage\` through the router to its delivery to another`,
            `member, ${roundTrips.messages} messages one at a time, nothing else sent): ${fixed(roundTrips.redisTotal)} Redis commands (INFO commandstats,`,
            `the calls inside Lua scripts included: ${Object.entries(roundTrips.redisCommands)
              .sort((a, b) => b[1] - a[1])
              .map(([command, calls]) => `${command} ${fixed(calls)}`)
              .join(', ')}) and ${fixed(roundTrips.postgresCommits)} PostgreSQL transactions`,
            `(pg_stat_database; a statement outside a transaction is one).`,
            '',
          ]
        : []),
      ...(ours.slow ? slowClientMarkdown(ours.slow) : []),
      `Deliveries/s counts from the first send to the last delivery; a server "keeps up" with a rate when every`,
      `delivery arrives once with p99 under a second.`,
      '',
      `Targets: deliveries/s ≥ Socket.IO's (highest rate kept up with): ${fixed(sustained(ours), 0)} vs ${fixed(sustained(baseline), 0)}, ${verdict(sustained(ours) >= sustained(baseline) * 0.98)};`,
      `p99 send→delivery ≤ 50 ms at 20,000 deliveries/s: ${at20k ? `${at20k.p99Ms} ms, ${verdict(at20k.p99Ms <= 50 && at20k.delivered === at20k.expected)}` : 'no step offered 20,000/s'};`,
      `server CPU per delivery ≤ 1.5× Socket.IO's at 20,000 deliveries/s: ${cpuRatio === null ? 'not measured' : `${fixed(at20k!.serverCpuUsPerDelivery!)} µs vs ${fixed(baselineAt20k!.serverCpuUsPerDelivery!)} µs (${fixed(cpuRatio)}×), ${verdict(cpuRatio <= 1.5)}`};`,
      `≤ 30 KB RSS per connected client: ${fixed(perClientKb)} KB (live heap and buffers ${fixed(ours.liveBytesPerClient / 1024)} KB), ${verdict(perClientKb <= 30 && ours.liveBytesPerClient / 1024 <= 30)}.`,
      `RSS grows in steps as the allocator maps memory, so its per-client share varies from run to run; the`,
      `live heap and buffers are the steadier figure, and the target is met only when both are under 30 KB.`,
    ].join('\n'),
  };
}

/** The slow-client steps: the other clients' figures with the bulk conversation read, then stalled. */
function slowClientMarkdown(slow: SlowClientSteps) {
  const row = (what: string, step: FanoutStep) => [
    what,
    step.messagesPerSecond,
    `${step.delivered}/${step.expected}`,
    step.p50Ms,
    step.p99Ms,
    step.sendP99Ms,
  ];
  const ratio = slow.stalled.p99Ms / Math.max(1, slow.reading.p99Ms);
  return [
    `A slow client (Parley, one router): at ${slow.rate} msg/s to the groups, one more user receives ${slow.bulkMessages}`,
    `messages of 3,900 characters at 10/s in a conversation of their own on one socket holding ${slow.subscriptions}`,
    `subscriptions (about 1 MB/s owed to it), first read at full speed, then not read at all for the step's first 8 s:`,
    '',
    table(
      [
        "the slow client's socket",
        'msg/s',
        "others' deliveries",
        "others' p50 ms",
        "others' p99 ms",
        'send p99 ms',
      ],
      [row('read', slow.reading), row('stalled', slow.stalled)],
    ),
    '',
    `Stalled, ${slow.lagged} of its ${slow.subscriptions} subscriptions were told \`LAGGING\` once it read again (after at most`,
    `${slow.receivedBeforeLagging} messages each); the others' p99 with it stalled is ${fixed(ratio, 2)}× the p99 with it read`,
    `(target ≤ 2×: ${verdict(ratio <= 2 && slow.lagged === slow.subscriptions && slow.stalled.delivered === slow.stalled.expected)}).`,
    '',
  ];
}
