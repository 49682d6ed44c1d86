import { buildSchema } from 'graphql';
import { isClientName } from '../context.js';
import { invalidDocuments, ManifestError, parseManifest, type PersistedDocument } from './manifest.js';
import type { PersistedDocuments } from './persisted-documents.js';

/**
 * Registers a client's manifest after checking it: a valid client name, a manifest in either format,
 * and every document valid against the API schema (so nothing registered fails at request time).
 * Returns the documents registered.
 */
export async function registerManifest(options: {
  client: string;
  manifest: unknown;
  apiSdl: string;
  documents: PersistedDocuments;
}): Promise<PersistedDocument[]> {
  if (!isClientName(options.client)) {
    throw new ManifestError([
      `client name "${options.client}" must be 1-64 letters, digits, ".", "_" or "-"`,
    ]);
  }
  const documents = parseManifest(options.manifest);
  const problems = invalidDocuments(buildSchema(options.apiSdl), documents);
  if (problems.length > 0) throw new ManifestError(problems);
  await options.documents.register(options.client, documents);
  return documents;
}
