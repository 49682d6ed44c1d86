import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWithResources } from '@parley/kit';
import {
  createSubgraphDatabases,
  deleteRedisKeys,
  SUBGRAPHS,
  testRedisPrefix,
  testRedisUrl,
  within,
  type SubgraphName,
} from '@parley/testkit';
import { generateSigningKey } from '@parley/users/keyring';
import { Redis } from 'ioredis';
import { vi } from 'vitest';

const repoRoot = new URL('../..', import.meta.url).pathname;

/** The subgraphs each one calls, told by its `<NAME>_SUBGRAPH_URL` variables (as startPlatform wires them). */
const CALLS: Record<SubgraphName, SubgraphName[]> = {
  users: [],
  conversations: ['users'],
  messages: ['users', 'conversations', 'files'],
  presence: ['users', 'conversations'],
  files: ['users', 'conversations'],
};

/** How long a process may take to answer `/ready`: twelve of them compile and start at once on two cores. */
const READY_TIMEOUT_MS = 90_000;
/** Graceful shutdown gives up after 10 s (registerGracefulShutdown); a little more before SIGKILL. */
const STOP_TIMEOUT_MS = 15_000;

export interface ServiceProcess {
  /** `users-1`, `router-2`, ... */
  name: string;
  baseUrl: string;
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** What the process printed (the tail), for failure messages. */
  output(): string;
}

export interface RouterInstance {
  name: string;
  /** The GraphQL endpoint. */
  url: string;
  wsUrl: string;
  /** Where /ready is. */
  routerUrl: string;
  /** Its Prometheus metrics (METRICS_PORT). */
  metricsUrl: string;
}

/** Where the kernel picks ports for `listen(0)` and outgoing connections (Linux; its default elsewhere). */
async function ephemeralRange(): Promise<[number, number]> {
  const text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768 60999');
  const [low = 32768, high = 60999] = text.trim().split(/\s+/).map(Number);
  return [low, high];
}

/** Listens on `port` if it is free; null when something else holds it. */
const tryListen = (port: number) =>
  new Promise<Server | null>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

/**
 * Free ports, all taken at once so none is handed out twice, then released for the children to listen on.
 * Chosen below the kernel's ephemeral range: between their release and the children's listen, no other
 * process's `listen(0)` or outgoing connection (tests run beside this one) can be handed one of them.
 */
async function freePorts(count: number): Promise<number[]> {
  const [ephemeralLow] = await ephemeralRange();
  const low = Math.max(1024, ephemeralLow - 12_000);
  const servers: Server[] = [];
  for (let attempt = 0; servers.length < count; attempt += 1) {
    if (attempt > count * 50) throw new Error(`no ${count} free ports below ${ephemeralLow}`);
    const server = await tryListen(low + Math.floor(Math.random() * (ephemeralLow - low)));
    if (server) servers.push(server);
  }
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

const OUTPUT_LIMIT = 20_000;

/**
 * Runs `src/index.ts` of a workspace (what its `npm start` runs, workspace packages from their sources) as a
 * child process.
 */
function spawnService(name: string, workspace: string, baseUrl: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=@parley/source', '--import', 'tsx', 'src/index.ts'], {
    cwd: join(repoRoot, workspace),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, baseUrl, child, exited, output: () => output } satisfies ServiceProcess;
}

const running = (service: ServiceProcess) =>
  service.child.exitCode === null && service.child.signalCode === null;

/** Resolves once `<baseUrl>/ready` answers 200 (asked again until then); fails at once if the process exits first. */
async function waitReady(service: ServiceProcess): Promise<void> {
  const exitedFirst = service.exited.then((code) => {
    throw new Error(`${service.name} exited with ${code} before it was ready:\n${service.output()}`);
  });
  exitedFirst.catch(() => {}); // an exit after it was ready is stopService's to report
  const ready = vi
    .waitFor(
      async () => {
        const status = await fetch(`${service.baseUrl}/ready`).then(
          (response) => response.status,
          () => 0,
        );
        if (status !== 200) throw new Error(`${service.name} not ready (${status})`);
      },
      { timeout: READY_TIMEOUT_MS, interval: 100 },
    )
    .catch(() => {
      throw new Error(`${service.name} not ready within ${READY_TIMEOUT_MS} ms:\n${service.output()}`);
    });
  await Promise.race([ready, exitedFirst]);
}

/** SIGTERM, then the exit code; SIGKILL (and null) if it does not exit in time. */
async function stopService(service: ServiceProcess): Promise<number | null> {
  if (!running(service)) return service.exited;
  service.child.kill('SIGTERM');
  const code = await within(service.exited, STOP_TIMEOUT_MS, `${service.name} to stop`).catch(
    () => 'timeout' as const,
  );
  if (code !== 'timeout') return code;
  service.child.kill('SIGKILL');
  await service.exited;
  return null;
}

/**
 * The platform scaled out, as separate processes: `instances` copies of every subgraph and of the router,
 * copy i of each calling copy i of the others (router i → subgraphs i, messages i → files i, ...), all on one
 * Redis (a new key prefix) and one PostgreSQL (a new database per subgraph, shared by its copies). Whatever
 * one copy does, the others can only learn through Redis and PostgreSQL. Every users copy signs with the
 * same key, and every service trusts the same service-token secret.
 */
export async function startCluster(options: { label: string; instances?: number }) {
  const instances = options.instances ?? 2;
  const redisUrl = testRedisUrl();
  const redisPrefix = testRedisPrefix(options.label);
  const processes: ServiceProcess[] = [];

  return startWithResources(async (resources) => {
    const dataDir = await mkdtemp(join(tmpdir(), `${options.label}-`));
    resources.add(() => rm(dataDir, { recursive: true, force: true }));
    resources.add(async () => {
      const redis = new Redis(redisUrl);
      try {
        await deleteRedisKeys(redis, redisPrefix);
      } finally {
        redis.disconnect();
      }
    });
    const databaseUrls = await createSubgraphDatabases(options.label, resources);
    // Registered after the databases, so it runs before they are dropped.
    resources.add(() => Promise.all(processes.map(stopService)));

    const base = {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? tmpdir(),
      NODE_ENV: 'test',
      LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
      REDIS_URL: redisUrl,
      REDIS_PREFIX: redisPrefix,
      EMBEDDED_DATA_DIR: dataDir,
      SERVICE_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    };
    const shared: Partial<Record<SubgraphName, Record<string, string>>> = {
      users: {
        AUTH_SIGNING_KEYS: JSON.stringify([await generateSigningKey('scale-out')]),
        REGISTER_MAX_PER_IP: '100000',
      },
      // One store behind both copies, as a shared volume would be; each serves its signed URLs itself.
      files: {
        FILES_LOCAL_DIR: join(dataDir, 'files'),
        FILES_SIGNING_SECRET: randomBytes(32).toString('base64url'),
      },
    };

    // Ports first, so every copy is told the addresses it calls and all of them start at once. Each process
    // also serves its metrics on a port of its own.
    const ports = await freePorts(instances * 2 * (SUBGRAPHS.length + 1) + instances);
    const stacks = Array.from({ length: instances }, (_, index) => {
      const port = () => String(ports.pop()!);
      const subgraphPorts = Object.fromEntries(SUBGRAPHS.map((name) => [name, port()])) as Record<
        SubgraphName,
        string
      >;
      const subgraphUrl = (name: SubgraphName) => `http://127.0.0.1:${subgraphPorts[name]}/graphql`;
      return {
        instance: index + 1,
        subgraphPorts,
        subgraphUrl,
        metricsPorts: Object.fromEntries(SUBGRAPHS.map((name) => [name, port()])) as Record<
          SubgraphName,
          string
        >,
        blobPort: port(),
        routerPort: port(),
        routerMetricsPort: port(),
      };
    });

    // Every subgraph copy at once: migrations run under an advisory lock (applyMigrations), so two copies
    // starting on one database take turns and the second finds them applied.
    const subgraphs = stacks.flatMap((stack) =>
      SUBGRAPHS.map((name) => {
        const calls = Object.fromEntries(
          CALLS[name].map((called) => [`${called.toUpperCase()}_SUBGRAPH_URL`, stack.subgraphUrl(called)]),
        );
        const service = spawnService(
          `${name}-${stack.instance}`,
          `subgraphs/${name}`,
          `http://127.0.0.1:${stack.subgraphPorts[name]}`,
          {
            ...base,
            ...shared[name],
            ...calls,
            PORT: stack.subgraphPorts[name],
            METRICS_PORT: stack.metricsPorts[name],
            DATABASE_URL: databaseUrls[name],
            DATABASE_POOL_MAX: '3',
            // Its caller is the router, which forwards the client's address.
            TRUST_PROXY: 'true',
            ...(name === 'files' ? { FILES_BLOB_PORT: stack.blobPort } : {}),
          },
        );
        processes.push(service);
        return service;
      }),
    );
    await Promise.all(subgraphs.map(waitReady));

    const routers = stacks.map((stack) => {
      const service = spawnService(
        `router-${stack.instance}`,
        'router',
        `http://127.0.0.1:${stack.routerPort}`,
        {
          ...base,
          PORT: stack.routerPort,
          METRICS_PORT: stack.routerMetricsPort,
          // No trusted-document manifest: the test sends its operations as text, and nothing is planned at start.
          PERSISTED_DOCUMENTS_DIR: join(dataDir, 'no-manifests'),
          ...Object.fromEntries(
            SUBGRAPHS.map((name) => [`SUBGRAPH_${name.toUpperCase()}_URL`, stack.subgraphUrl(name)]),
          ),
        },
      );
      processes.push(service);
      return service;
    });
    await Promise.all(routers.map(waitReady));

    return {
      routers: routers.map((router, index): RouterInstance => ({
        name: router.name,
        url: `${router.baseUrl}/graphql`,
        wsUrl: `${router.baseUrl.replace(/^http/, 'ws')}/graphql`,
        routerUrl: router.baseUrl,
        metricsUrl: `http://127.0.0.1:${stacks[index]!.routerMetricsPort}/metrics`,
      })),
      processes,
      /**
       * SIGTERM to the routers, then (once they exited, so no request reaches a stopped subgraph) to the
       * subgraphs: every process's exit code by name.
       */
      async stopProcesses(): Promise<Record<string, number | null>> {
        const codes: Record<string, number | null> = {};
        for (const group of [routers, subgraphs]) {
          await Promise.all(group.map(async (service) => (codes[service.name] = await stopService(service))));
        }
        return codes;
      },
    };
  });
}

export type Cluster = Awaited<ReturnType<typeof startCluster>>;
