import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkServiceCalls,
  findCycle,
  serviceCallGraph,
  type ServiceCallGraph,
} from '../scripts/check-service-calls.js';

/**
 * `npm run deps:check` also refuses services that call each other in a cycle (scripts/check-service-calls.ts).
 * Here it reads small trees laid out like the repository: a kit with `createSubgraphCall` and
 * `createMembershipRepair`, a service's client used by another, and a call made in a test (not a service's).
 */
const KIT = '../../../packages/kit/src/index.js';
const base: Record<string, string> = {
  'packages/kit/src/subgraph-call.ts': `export type SubgraphService = 'users' | 'conversations' | 'messages';
export function createSubgraphCall(options: { service: SubgraphService; url: string }) {
  return async (query: string) => [options.service, options.url, query];
}
export function createMembershipRepair(options: { url: string }) {
  const call = createSubgraphCall({ service: 'conversations', ...options });
  return (ids: string[]) => call(ids.join());
}
`,
  'packages/kit/src/index.ts': `export * from './subgraph-call.js';\n`,
  // Users' client: a call to users, made by whoever uses it.
  'subgraphs/users/src/client.ts': `import { createSubgraphCall } from '${KIT}';
export function createBlockRelationsClient(url: string) {
  return createSubgraphCall({ service: 'users', url });
}
`,
  // Users asking itself through its own client, and naming the repair's type only: no call to another.
  'subgraphs/users/src/service.ts': `import { createBlockRelationsClient } from './client.js';
import type { createMembershipRepair } from '${KIT}';
export type Repair = typeof createMembershipRepair;
export const own = createBlockRelationsClient('http://users');
`,
  'subgraphs/conversations/src/service.ts': `import { createBlockRelationsClient } from '../../users/src/client.js';
export const start = (url: string) => ({ blocks: createBlockRelationsClient(url) });
`,
  'subgraphs/messages/src/service.ts': `import { createMembershipRepair } from '${KIT}';
export const start = (url: string) => createMembershipRepair({ url });
`,
  // Tests call whatever they like.
  'subgraphs/users/test/calls.test.ts': `import { createSubgraphCall } from '${KIT}';
export const probe = createSubgraphCall({ service: 'messages', url: '' });
`,
};

const roots: string[] = [];
afterAll(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

async function tree(files: Record<string, string>) {
  const root = await mkdtemp(join(tmpdir(), 'service-calls-'));
  roots.push(root);
  for (const [path, source] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), source);
  }
  return root;
}

const edges = (graph: ServiceCallGraph) => graph.calls.map(({ from, to }) => `${from} → ${to}`);

describe('deps:check: calls between services', () => {
  it('passes without a cycle, printing the graph it read from calls, clients and the membership repair', async () => {
    const graph = serviceCallGraph(await tree(base));
    expect(edges(graph)).toEqual(['conversations → users', 'messages → conversations']);
    expect(graph.problems).toEqual([]);
    expect(graph.calls[0]).toEqual({
      from: 'conversations',
      to: 'users',
      by: 'subgraphs/conversations/src/service.ts:2',
      via: ['createBlockRelationsClient'],
      at: 'subgraphs/users/src/client.ts:3',
    });
    const { ok, report } = checkServiceCalls(graph);
    expect(ok).toBe(true);
    expect(report).toContain('messages → conversations');
    expect(report).toContain('✔ no cycle of calls between services');
  });

  it('fails on services calling each other in a cycle, naming it', async () => {
    const graph = serviceCallGraph(
      await tree({
        ...base,
        'subgraphs/users/src/fellow-members.ts': `import { createSubgraphCall } from '${KIT}';
export const fellowMembers = (url: string) => createSubgraphCall({ service: 'conversations', url });
`,
      }),
    );
    expect(edges(graph)).toContain('users → conversations');
    const { ok, report } = checkServiceCalls(graph);
    expect(ok).toBe(false);
    expect(report).toContain('✘ services call each other in a cycle: conversations → users → conversations');
    expect(report).toContain('users → conversations  (subgraphs/users/src/fellow-members.ts:2)');
  });

  it('fails on a call whose callee is not a literal, or a call factory passed around', async () => {
    const graph = serviceCallGraph(
      await tree({
        ...base,
        'subgraphs/messages/src/dynamic.ts': `import { createSubgraphCall, type SubgraphService } from '${KIT}';
export const anyService = (service: SubgraphService) => createSubgraphCall({ service, url: '' });
export const factory = createSubgraphCall;
`,
      }),
    );
    expect(graph.problems).toEqual([
      expect.stringMatching(
        /^subgraphs\/messages\/src\/dynamic\.ts:2: createSubgraphCall's service is not a literal/,
      ),
      expect.stringMatching(
        /^subgraphs\/messages\/src\/dynamic\.ts:3: createSubgraphCall used other than called/,
      ),
    ]);
    expect(checkServiceCalls(graph).ok).toBe(false);
  });

  it('follows functions elsewhere that refer to each other', async () => {
    const graph = serviceCallGraph(
      await tree({
        ...base,
        'packages/kit/src/retry.ts': `import { createSubgraphCall } from './subgraph-call.js';
export function first(tries: number): unknown {
  return tries > 0 ? second(tries - 1) : createSubgraphCall({ service: 'users', url: '' });
}
export function second(tries: number): unknown {
  return tries > 0 ? first(tries) : createSubgraphCall({ service: 'messages', url: '' });
}
`,
        'subgraphs/files/src/service.ts': `import { second } from '../../../packages/kit/src/retry.js';
export const start = () => second(2);
`,
      }),
    );
    expect(edges(graph).filter((edge) => edge.startsWith('files'))).toEqual([
      'files → messages',
      'files → users',
    ]);
  });

  it('finds a cycle through any number of services, and none in a chain', () => {
    expect(
      findCycle([
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'c', to: 'a' },
        { from: 'd', to: 'a' },
      ]),
    ).toEqual(['a', 'b', 'c', 'a']);
    expect(
      findCycle([
        { from: 'a', to: 'b' },
        { from: 'b', to: 'c' },
        { from: 'a', to: 'c' },
      ]),
    ).toBeUndefined();
  });
});
