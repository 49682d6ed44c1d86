import { composeServices } from '@apollo/composition';
import { parse, printSchema } from 'graphql';
import type { SubgraphSdl } from './subgraphs.js';
import { viewerDeclarationProblems } from './viewer-declarations.js';

export interface ComposedGraph {
  /** For the router: every subgraph's types, joined with routing information. */
  supergraphSdl: string;
  /** For clients and codegen: the graph as callers see it, without federation machinery. */
  apiSdl: string;
}

export class CompositionError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(`Composition failed:\n${errors.map((message) => `  - ${message}`).join('\n')}`);
    this.name = 'CompositionError';
  }
}

/**
 * Composes the subgraphs with @apollo/composition, then checks that every field a realtime event reaches
 * says whether its value depends on the viewer; throws CompositionError listing every problem.
 */
export function composeGraph(subgraphSdls: readonly SubgraphSdl[]): ComposedGraph {
  const result = composeServices(
    subgraphSdls.map(({ name, url, typeDefs }) => ({ name, url, typeDefs: parse(typeDefs) })),
  );
  if (result.errors) throw new CompositionError(result.errors.map((error) => error.message));
  const apiSchema = result.schema.toAPISchema().toGraphQLJSSchema();
  const problems = viewerDeclarationProblems(result.supergraphSdl, apiSchema);
  if (problems.length > 0) throw new CompositionError(problems);
  return {
    supergraphSdl: `${result.supergraphSdl.trimEnd()}\n`,
    apiSdl: `${printSchema(apiSchema)}\n`,
  };
}
