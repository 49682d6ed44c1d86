import { createHash } from 'node:crypto';
import { parse, validate, type GraphQLSchema } from 'graphql';
import { z } from 'zod';

export interface PersistedDocument {
  /** What clients send: `documentId`, or `extensions.persistedQuery.sha256Hash`. */
  id: string;
  body: string;
}

export const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

const id = z.string().min(1).max(200);
const body = z.string().min(1).max(100_000);

/** Apollo's persisted query manifest (`generate-persisted-query-manifest`, Apollo Router's format). */
const apolloManifest = z.object({
  format: z.literal('apollo-persisted-query-manifest'),
  version: z.literal(1),
  operations: z.array(
    z.object({ id, body, name: z.string().optional(), type: z.string().optional() }).loose(),
  ),
});

/** graphql-codegen client-preset's `persisted-documents.json`: `{ "<hash>": "<document>" }`. */
const codegenManifest = z.record(id, body);

export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid manifest:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ManifestError';
  }
}

/** The documents of a manifest in either format; throws ManifestError for anything else. */
export function parseManifest(json: unknown): PersistedDocument[] {
  if (typeof json === 'object' && json !== null && 'format' in json) {
    const result = apolloManifest.safeParse(json);
    if (!result.success)
      throw new ManifestError(
        result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
      );
    return result.data.operations.map(({ id, body }) => ({ id, body }));
  }
  const result = codegenManifest.safeParse(json);
  if (!result.success) {
    throw new ManifestError([
      'expected an Apollo persisted query manifest or a graphql-codegen persisted-documents.json',
      ...result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    ]);
  }
  return Object.entries(result.data).map(([id, body]) => ({ id, body }));
}

/** Every document that does not parse or does not validate against `schema`, with why. */
export function invalidDocuments(schema: GraphQLSchema, documents: PersistedDocument[]): string[] {
  const problems: string[] = [];
  for (const { id, body } of documents) {
    try {
      const errors = validate(schema, parse(body));
      if (errors.length > 0) problems.push(`${id}: ${errors.map((error) => error.message).join('; ')}`);
    } catch (error) {
      problems.push(`${id}: ${(error as Error).message}`);
    }
  }
  return problems;
}
