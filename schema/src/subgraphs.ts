import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface SubgraphDefinition {
  name: string;
  /** Where the router finds it unless `SUBGRAPH_<NAME>_URL` says otherwise (the `npm start` ports). */
  url: string;
  /** The subgraph's SDL, the single source its server is built from. */
  sdlFile: string;
}

const sdlFile = (subgraph: string) =>
  fileURLToPath(new URL(`../../subgraphs/${subgraph}/src/schema.graphql`, import.meta.url));

/** Every subgraph in the graph; add one here when it lands (see README, "Adding a subgraph"). */
export const subgraphs: readonly SubgraphDefinition[] = [
  { name: 'users', url: 'http://localhost:4001/graphql', sdlFile: sdlFile('users') },
  { name: 'conversations', url: 'http://localhost:4002/graphql', sdlFile: sdlFile('conversations') },
  { name: 'messages', url: 'http://localhost:4003/graphql', sdlFile: sdlFile('messages') },
  { name: 'presence', url: 'http://localhost:4004/graphql', sdlFile: sdlFile('presence') },
  { name: 'files', url: 'http://localhost:4005/graphql', sdlFile: sdlFile('files') },
];

export interface SubgraphSdl {
  name: string;
  url: string;
  typeDefs: string;
}

export async function readSubgraphSdls(
  list: readonly SubgraphDefinition[] = subgraphs,
): Promise<SubgraphSdl[]> {
  return Promise.all(
    list.map(async ({ name, url, sdlFile }) => ({ name, url, typeDefs: await readFile(sdlFile, 'utf8') })),
  );
}
