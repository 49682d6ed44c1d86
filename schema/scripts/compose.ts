import {
  composeGraph,
  CompositionError,
  readSubgraphSdls,
  staleComposedFiles,
  writeComposedGraph,
} from '../src/index.js';

/**
 * `npm run compose`: composes every subgraph's SDL into schema/supergraph.graphql and schema/api.graphql.
 * `npm run compose:check` (CI): fails when composition fails or either committed file is stale.
 */
async function main() {
  const check = process.argv.includes('--check');
  const graph = composeGraph(await readSubgraphSdls());
  if (!check) {
    await writeComposedGraph(graph);
    console.log('Wrote schema/supergraph.graphql and schema/api.graphql');
    return;
  }
  const stale = await staleComposedFiles(graph);
  if (stale.length > 0) {
    console.error(
      `Stale: ${stale.map((name) => `schema/${name}`).join(', ')}. Run \`npm run compose\` and commit.`,
    );
    process.exit(1);
  }
  console.log('schema/supergraph.graphql and schema/api.graphql are up to date');
}

main().catch((error: unknown) => {
  console.error(error instanceof CompositionError ? error.message : error);
  process.exit(1);
});
