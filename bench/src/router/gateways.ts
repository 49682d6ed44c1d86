import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSupergraphSdl } from '@parley/schema';
import { startChild } from '../lib/child.js';
import type { PlatformReady } from '../lib/platform-process.js';

/** The three routers compared, each started in its own process by `gateway-process.ts`. */
export const gatewayNames = ['parley-router', 'hive-gateway', 'apollo-server'] as const;
export type GatewayName = (typeof gatewayNames)[number];

export const gatewayLabels: Record<GatewayName, string> = {
  'parley-router': 'Parley router (production settings)',
  'hive-gateway': 'Hive Gateway',
  'apollo-server': 'Apollo Server + @apollo/gateway',
};

/** The client the benchmark's documents are registered for, in the Parley router's trusted documents. */
export const BENCH_CLIENT = 'parley-bench';

/** What the parent tells a gateway process: which one, and where the subgraphs are. */
export interface GatewayConfig extends Omit<PlatformReady, 'seeded'> {
  name: GatewayName;
  /** The supergraph with its subgraph URLs pointing at the running subgraphs. */
  supergraphPath: string;
  /** Trusted-document manifests for the Parley router (which runs in production's persisted-only mode). */
  persistedDocumentsDir: string;
}

/** The supergraph with each subgraph's URL replaced by where it runs now. */
export function pointSupergraphAt(sdl: string, urls: Record<string, string>) {
  return sdl.replace(/@join__graph\(name: "([^"]+)", url: "[^"]*"\)/g, (whole, name: string) =>
    urls[name] ? `@join__graph(name: "${name}", url: "${urls[name]}")` : whole,
  );
}

/**
 * Starts gateway `name` in its own process in front of the platform's subgraphs, with `documents`
 * registered for BENCH_CLIENT (clients send their text and that client name, as the peers get the text).
 * `execArgv` adds Node options (`--expose-gc` to measure memory after a collection).
 */
export async function startGateway(
  name: GatewayName,
  platform: PlatformReady,
  documents: string[],
  execArgv: string[] = [],
) {
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-'));
  const supergraphPath = join(dir, 'supergraph.graphql');
  await writeFile(supergraphPath, pointSupergraphAt(await readSupergraphSdl(), platform.subgraphUrls));
  const persistedDocumentsDir = join(dir, 'persisted');
  await mkdir(persistedDocumentsDir);
  const manifest = Object.fromEntries(
    documents.map((document) => [createHash('sha256').update(document).digest('hex'), document]),
  );
  await writeFile(join(persistedDocumentsDir, `${BENCH_CLIENT}.json`), JSON.stringify(manifest));
  // What the seed made stays out: the child's environment has a size limit.
  const { seeded: _seeded, ...subgraphs } = platform;
  const config: GatewayConfig = { ...subgraphs, name, supergraphPath, persistedDocumentsDir };
  const gateway = await startChild<{ url: string; wsUrl?: string }>(
    new URL('./gateway-process.ts', import.meta.url),
    { BENCH_GATEWAY: JSON.stringify(config) },
    { execArgv },
  );
  return {
    ...gateway,
    async stop() {
      await gateway.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
