import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComposedGraph } from './compose.js';

/** Where the composed graph is committed. */
export const schemaDir = fileURLToPath(new URL('..', import.meta.url));

const fileNames: Record<keyof ComposedGraph, string> = {
  supergraphSdl: 'supergraph.graphql',
  apiSdl: 'api.graphql',
};

export async function writeComposedGraph(graph: ComposedGraph, dir = schemaDir): Promise<void> {
  for (const [key, name] of Object.entries(fileNames)) {
    await writeFile(join(dir, name), graph[key as keyof ComposedGraph]);
  }
}

/** The files in `dir` that differ from (or are missing for) the freshly composed `graph`. */
export async function staleComposedFiles(graph: ComposedGraph, dir = schemaDir): Promise<string[]> {
  const stale: string[] = [];
  for (const [key, name] of Object.entries(fileNames)) {
    const committed = await readFile(join(dir, name), 'utf8').catch(() => null);
    if (committed !== graph[key as keyof ComposedGraph]) stale.push(name);
  }
  return stale;
}

/** The committed supergraph, as the router serves it. */
export function readSupergraphSdl(dir = schemaDir): Promise<string> {
  return readFile(join(dir, fileNames.supergraphSdl), 'utf8');
}

export function readApiSdl(dir = schemaDir): Promise<string> {
  return readFile(join(dir, fileNames.apiSdl), 'utf8');
}
