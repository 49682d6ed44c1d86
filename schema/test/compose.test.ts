import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  composeGraph,
  CompositionError,
  fieldsReachableFromEvents,
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

describe('viewer declarations of what realtime events reach', () => {
  const userField = (declaration: string) =>
    withUsersSdl((sdl) =>
      sdl.replace(
        'type User @key(fields: "id") {',
        `type User @key(fields: "id") {\n  nickname: String${declaration}`,
      ),
    );

  it('fails when a field reachable from RealtimeEvent is declared neither way', () => {
    const compose = () => composeGraph(userField(''));
    expect(compose).toThrow(CompositionError);
    expect(compose).toThrow(
      /"User\.nickname" is reachable from RealtimeEvent but declared neither @perViewer nor @viewerIndependent/,
    );
  });

  it('accepts the field once declared either way, and refuses both at once', () => {
    expect(() => composeGraph(userField(' @viewerIndependent'))).not.toThrow();
    expect(() => composeGraph(userField(' @perViewer'))).not.toThrow();
    expect(() => composeGraph(userField(' @perViewer @viewerIndependent'))).toThrow(
      /"User\.nickname" is declared both @perViewer and @viewerIndependent/,
    );
  });

  it('reaches fields at any depth, through interfaces and every type an event leads to', () => {
    const apiSchema = buildSchema(composeGraph(sdls).apiSdl);
    const reachable = fieldsReachableFromEvents(apiSchema);
    // MessageAdded → Message → User → File (an avatar) → File.url, and the interface's own fields.
    expect(reachable).toEqual(
      expect.arrayContaining([
        'File.url',
        'RealtimeEvent.cursor',
        'Conversation.typingUsers',
        'ReactionGroup.viewerReacted',
      ]),
    );
    // Types no event leads to are not asked about.
    expect(reachable.some((field) => field.startsWith('Session.') || field.startsWith('Viewer.'))).toBe(
      false,
    );
  });

  it('a field no event reaches needs no declaration', () => {
    expect(() =>
      composeGraph(withUsersSdl((sdl) => sdl.replace('type Session {', 'type Session {\n  label: String'))),
    ).not.toThrow();
  });
});
