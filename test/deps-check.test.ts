import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseResult, type IFlattenedRuleSet } from 'dependency-cruiser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm run deps:check` runs dependency-cruiser with `.dependency-cruiser.cjs` over the repository. Here the same
 * rules run over a small tree with one offence of each kind, so a rule that stopped firing fails this test.
 */
const config = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as {
  forbidden: IFlattenedRuleSet['forbidden'];
};

const files: Record<string, string> = {
  // A subgraph reaching into another's code (its store), and taking another's contract (allowed).
  'subgraphs/users/src/profile.ts': `import { store } from '../../messages/src/store.js';\nimport { events } from '../../messages/src/events.js';\nimport { client } from '../../messages/src/client.js';\nexport const profile = [store, events, client];\n`,
  'subgraphs/messages/src/client.ts': `export const client = 1;\n`,
  'subgraphs/messages/src/store.ts': `export const store = 1;\n`,
  // An event contract importing its own service's code.
  'subgraphs/messages/src/events.ts': `import { store } from './store.js';\nexport const events = store;\n`,
  // The kernel importing a service.
  'packages/kit/src/clients.ts': `import { profile } from '../../../subgraphs/users/src/profile.js';\nexport const clients = profile;\n`,
  // The router importing a subgraph's code rather than its contract.
  'router/src/gateway.ts': `import { store } from '../../subgraphs/messages/src/store.js';\nexport const gateway = store;\n`,
  // Two modules importing each other at run time.
  'subgraphs/files/src/a.ts': `import { b } from './b.js';\nexport const a = () => b;\n`,
  'subgraphs/files/src/b.ts': `import { a } from './a.js';\nexport const b = () => a;\n`,
};

let root: string;
let violations: Array<{ rule: string; from: string; to: string }>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'deps-check-'));
  for (const [path, source] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), source);
  }
  const { output } = await cruise(['subgraphs', 'packages', 'router'], {
    baseDir: root,
    validate: true,
    ruleSet: { forbidden: config.forbidden },
    tsPreCompilationDeps: true,
  });
  violations = (output as ICruiseResult).summary.violations.map(({ rule, from, to }) => ({
    rule: rule.name,
    from,
    to,
  }));
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe('deps:check', () => {
  it.each([
    ['subgraph-imports-subgraph', 'subgraphs/users/src/profile.ts', 'subgraphs/messages/src/store.ts'],
    ['kit-imports-domain', 'packages/kit/src/clients.ts', 'subgraphs/users/src/profile.ts'],
    ['router-imports-subgraph', 'router/src/gateway.ts', 'subgraphs/messages/src/store.ts'],
    [
      'event-contract-imports-service-code',
      'subgraphs/messages/src/events.ts',
      'subgraphs/messages/src/store.ts',
    ],
    ['no-circular', 'subgraphs/files/src/a.ts', 'subgraphs/files/src/b.ts'],
  ])('%s: fails on %s → %s', (rule, from, to) => {
    expect(violations).toContainEqual({ rule, from, to });
  });

  it('lets a subgraph import another subgraph’s contract: its events and its client', () => {
    expect(violations.filter(({ to }) => /^subgraphs\/messages\/src\/(events|client)\.ts$/.test(to))).toEqual(
      [],
    );
  });
});
