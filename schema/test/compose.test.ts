import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  composeGraph,
  CompositionError,
  readSubgraphSdls,
  staleComposedFiles,
  writeComposedGraph,
  type SubgraphSdl,
} from '../src/index.js';

let sdls: SubgraphSdl[];
let dir: string;

beforeAll(async () => {
  sdls = await readSubgraphSdls();
  dir = await mkdtemp(join(tmpdir(), 'parley-compose-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const withUsersSdl = (edit: (sdl: string) => string) =>
  sdls.map((sdl) => (sdl.name === 'users' ? { ...sdl, typeDefs: edit(sdl.typeDefs) } : sdl));

describe('compose:check', () => {
  it('finds the committed supergraph and API schema up to date with the subgraphs', async () => {
    expect(await staleComposedFiles(composeGraph(sdls))).toEqual([]);
  });

  it('reports both files stale when a subgraph SDL changes, and current again once recomposed', async () => {
    await writeComposedGraph(composeGraph(sdls), dir);
    const changed = composeGraph(
      withUsersSdl((sdl) => sdl.replace('type Query {', 'type Query {\n  ping: String')),
    );
    expect(await staleComposedFiles(changed, dir)).toEqual(['supergraph.graphql', 'api.graphql']);

    await writeComposedGraph(changed, dir);
    expect(await staleComposedFiles(changed, dir)).toEqual([]);
    expect(await readFile(join(dir, 'api.graphql'), 'utf8')).toContain('ping: String');
  });

  it('fails with every composition error when subgraphs disagree', () => {
    const clash: SubgraphSdl = {
      name: 'clash',
      url: 'http://localhost:1/graphql',
      // The users subgraph defines User.username as String!; a value type may not redefine it as Int.
      typeDefs: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
        type User @key(fields: "id") { id: ID! username: Int }`,
    };
    const compose = () => composeGraph([...sdls, clash]);
    expect(compose).toThrow(CompositionError);
    expect(compose).toThrow(/"User\.username" is incompatible across subgraphs/);
  });

  it('keeps federation machinery out of the API schema', () => {
    const { apiSdl, supergraphSdl } = composeGraph(sdls);
    expect(supergraphSdl).toContain('@join__graph(name: "users"');
    expect(apiSdl).not.toMatch(/join__|_entities|_service|@link/);
    expect(apiSdl).toContain('type Query');
  });
});
