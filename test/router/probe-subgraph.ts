import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createMetricsRegistry,
  createSubgraphServer,
  forbidden,
  listen,
  type BaseContext,
  type Logger,
  unauthenticated,
} from '@parley/kit';
import { composeGraph, readSubgraphSdls } from '@parley/schema';
import { parse, print } from 'graphql';

/**
 * A second subgraph for router tests: it extends `User` (owned by the users subgraph) with `probe`,
 * which reports the headers the router forwarded on the entity fetch, and fails on demand. Queries
 * through it cross two subgraphs: the users subgraph resolves `me`, this one the `User` entity.
 */
const typeDefs = parse(`
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@composeDirective"])
    @link(url: "https://specs.parley.dev/per-viewer/v0.1", import: ["@perViewer"])
    @composeDirective(name: "@perViewer")
  directive @perViewer on FIELD_DEFINITION
  # Realtime events reach users, so every field here says it depends on who asks (their request's headers).
  type User @key(fields: "id") {
    id: ID!
    probe: Probe! @perViewer
  }
  type Probe {
    requestId: String! @perViewer
    traceparent: String @perViewer
    authorization: Boolean! @perViewer
    forwardedFor: String @perViewer
    userAgent: String @perViewer
    clientName: String @perViewer
    forbidden: String @perViewer
    crash: String @perViewer
  }
`);

interface ProbeContext extends BaseContext {
  headers: Headers;
}

export async function startProbeSubgraph(logger: Logger) {
  const yoga = createSubgraphServer<ProbeContext>({
    name: 'probe',
    typeDefs,
    resolvers: {
      User: {
        probe: (_user: unknown, _args: unknown, { headers }: ProbeContext) => ({
          requestId: headers.get('x-request-id'),
          traceparent: headers.get('traceparent'),
          authorization: headers.has('authorization'),
          forwardedFor: headers.get('x-forwarded-for'),
          userAgent: headers.get('user-agent'),
          clientName: headers.get('graphql-client-name'),
        }),
      },
      Probe: {
        forbidden: () => {
          throw forbidden('Probe says no');
        },
        crash: () => {
          throw new Error('connection to 10.1.2.3:5432 failed: secret internals');
        },
      },
    },
    logger,
    // The probe only reports whether a token arrived; it never needs the viewer.
    verifyToken: async () => {
      throw unauthenticated('The probe does not check tokens');
    },
    trustProxy: true,
    metrics: createMetricsRegistry('probe'),
    extendContext: (base, request) => ({ ...base, viewer: null, headers: request.headers }),
  });
  const server = await listen(yoga, 0);
  return { url: `${server.url}/graphql`, stop: () => server.close() };
}

/** Composes the real subgraphs plus the probe into a supergraph file in `dir`; returns its path. */
export async function writeSupergraphWithProbe(dir: string, probeUrl: string): Promise<string> {
  const sdls = await readSubgraphSdls();
  const { supergraphSdl } = composeGraph([
    ...sdls,
    { name: 'probe', url: probeUrl, typeDefs: print(typeDefs) },
  ]);
  const path = join(dir, 'supergraph.graphql');
  await writeFile(path, supergraphSdl);
  return path;
}
