import { z } from 'zod';
import { codedError } from './errors.js';

/** Whose behalf a call is made on: subgraphs answer internal fields with the caller's own rights. */
export interface Caller {
  authorization: string;
  requestId: string;
}

/**
 * The services whose internal fields others call. `createSubgraphCall`'s `service` is one of these, written as
 * a literal where it is called: `npm run deps:check` (scripts/check-service-calls.ts) reads who calls whom
 * from those literals and refuses services that call each other in a cycle.
 */
export type SubgraphService = 'users' | 'conversations' | 'messages' | 'presence' | 'files';

/**
 * Calls another subgraph directly, not through the router (the fields asked are `@inaccessible`: in the
 * supergraph, absent from the public graph), with the caller's token and request id. Unreachable, timed
 * out or unexpected answers are SERVICE_UNAVAILABLE.
 */
export function createSubgraphCall(options: { service: SubgraphService; url: string; timeoutMs: number }) {
  return async <T extends z.ZodType>(
    query: string,
    variables: Record<string, unknown>,
    caller: Caller,
    data: T,
  ): Promise<z.output<T>> => {
    let body: unknown;
    try {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          authorization: caller.authorization,
          'x-request-id': caller.requestId,
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      body = await response.json();
    } catch (error) {
      throw codedError('SERVICE_UNAVAILABLE', `The ${options.service} service could not be reached`, {
        cause: String(error),
      });
    }
    const parsed = data.safeParse((body as { data?: unknown } | null)?.data);
    if (!parsed.success) {
      throw codedError('SERVICE_UNAVAILABLE', `The ${options.service} service could not answer`, {
        errors: (body as { errors?: unknown } | null)?.errors ?? null,
      });
    }
    return parsed.data;
  };
}
