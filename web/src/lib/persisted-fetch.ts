import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { CLIENT_NAME } from './config';

/** A GraphQL error as the graph sends it: every one carries `extensions.code`. */
export interface GraphError {
  message: string;
  extensions?: { code?: string; reason?: string; field?: string; retryAfter?: number };
}

/** Statuses of a gateway or server that cannot answer for now (the request may succeed later). */
const UNAVAILABLE_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

export class GraphRequestError extends Error {
  constructor(readonly errors: GraphError[]) {
    super(errors[0]?.message ?? 'Request failed');
  }
  get code() {
    return this.errors[0]?.extensions?.code;
  }
}

/** The manifest hash codegen embeds in each operation document (`sha256:<hex>`). */
export function documentHash(document: unknown): string {
  const hash = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (!hash) throw new Error('document has no persisted hash: was it made by codegen?');
  return hash;
}

/**
 * Runs a persisted operation by its hash alone (the text stays in the manifest), outside urql: sign-in
 * and token refresh happen before there is an authenticated client.
 */
export async function persistedFetch<TData, TVariables>(
  url: string,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  token?: string,
): Promise<TData> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'graphql-client-name': CLIENT_NAME,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: documentHash(document) } },
    }),
  });
  const result = (await response.json().catch(() => ({}))) as { data?: TData | null; errors?: GraphError[] };
  if (result.errors?.length) throw new GraphRequestError(result.errors);
  if (!result.data) {
    // No GraphQL answer at all: a proxy (or the router) that could not answer for now says so by its status.
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
    const code =
      response.status === 429
        ? 'RATE_LIMITED'
        : UNAVAILABLE_STATUSES.has(response.status)
          ? 'SERVICE_UNAVAILABLE'
          : undefined;
    throw new GraphRequestError([
      {
        message: `HTTP ${response.status}`,
        ...(code && {
          extensions: { code, ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfter }) },
        }),
      },
    ]);
  }
  return result.data;
}
