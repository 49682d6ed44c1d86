import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUsersTestServer, type UsersTestServer } from './users-test-server.js';

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer();
  // Enough rows that a sequential scan is the planner's worst choice, inserted directly for speed.
  await server.sql(`
    INSERT INTO users (id, email, username, display_name, updated_at)
    SELECT gen_random_uuid(), 'bulk' || n || '@example.test', 'bulk_' || n, 'Bulk Person ' || n, now()
    FROM generate_series(1, 20000) AS n`);
  await server.sql('ANALYZE users');
});
afterAll(() => server?.stop());

describe('user search at scale', () => {
  it.each([
    ['a username prefix', 'bulk_1999'],
    ['a display-name prefix', 'BULK PERSON 1999'],
  ])('finds %s through an index, not a scan of every user', async (_label, query) => {
    const viewer = await server.register('planner');
    server.queries.length = 0;
    const response = await viewer.api.request<{ searchUsers: { edges: { node: { username: string } }[] } }>(
      'query($q: String!) { searchUsers(query: $q, first: 5) { edges { node { username } } } }',
      { q: query },
    );
    expect(response.data?.searchUsers.edges.map((edge) => edge.node.username)).toEqual([
      'bulk_1999',
      'bulk_19990',
      'bulk_19991',
      'bulk_19992',
      'bulk_19993',
    ]);

    const search = server.queries.find(({ sql }) => /LIKE/.test(sql));
    expect(search, 'the search statement').toBeDefined();
    const params = JSON.parse(search!.params) as unknown[];
    const [plan] = await server.sql<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (FORMAT JSON) ${search!.sql}`,
      params,
    );
    const nodes: Record<string, unknown>[] = [];
    const walk = (node: Record<string, unknown>) => {
      nodes.push(node);
      for (const child of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) walk(child);
    };
    walk((plan!['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0]!.Plan);
    const scansOfUsers = nodes
      .filter((node) => node['Relation Name'] === 'users')
      .map((node) => node['Node Type']);
    expect(scansOfUsers).not.toContain('Seq Scan');
    expect(nodes.map((node) => node['Index Name'])).toContain(
      query.startsWith('bulk_') ? 'users_username_prefix_idx' : 'users_display_name_prefix_idx',
    );
  });
});
