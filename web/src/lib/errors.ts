import type { CombinedError } from '@urql/core';

/**
 * Codes of failures that are not the request's fault: the graph answers them with `extensions.retryAfter`
 * (seconds), and the same request may succeed once that has passed. SERVICE_UNAVAILABLE: a database, Redis
 * or another service could not be reached; RATE_LIMITED: too many requests.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['SERVICE_UNAVAILABLE', 'RATE_LIMITED']);

/** What to wait when a retryable error does not say (what the graph usually says for SERVICE_UNAVAILABLE). */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

/** A GraphQL error as far as these helpers read it. */
interface GraphErrorLike {
  message?: string;
  extensions?: Readonly<Record<string, unknown>> | undefined;
}

/** The GraphQL errors of a failure: urql's CombinedError, persistedFetch's GraphRequestError, or none. */
function graphErrorsOf(error: unknown): readonly GraphErrorLike[] {
  if (typeof error !== 'object' || error === null) return [];
  const { graphQLErrors, errors } = error as { graphQLErrors?: unknown; errors?: unknown };
  if (Array.isArray(graphQLErrors)) return graphQLErrors as GraphErrorLike[];
  if (Array.isArray(errors)) return errors as GraphErrorLike[];
  return [];
}

const codeOf = (error: GraphErrorLike) => {
  const code = error.extensions?.['code'];
  return typeof code === 'string' ? code : undefined;
};

/** The code of a failure's first GraphQL error, if it has any. */
export const errorCodeOf = (error: unknown): string | undefined => {
  const first = graphErrorsOf(error)[0];
  return first ? codeOf(first) : undefined;
};

/** HTTP statuses that say the same: a proxy, the router or a service could not answer for now, or too often. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** A failure with no GraphQL error but a retryable HTTP status: its `Retry-After` (seconds), when readable. */
function statusRetryAfterOf(error: object): number | undefined {
  const { response } = error as {
    response?: { status?: unknown; headers?: { get?(name: string): string | null } } | null;
  };
  if (typeof response?.status !== 'number' || !RETRYABLE_STATUSES.has(response.status)) return undefined;
  const header = Number(response.headers?.get?.('retry-after') ?? Number.NaN);
  return Number.isFinite(header) && header > 0 ? Math.ceil(header) : DEFAULT_RETRY_AFTER_SECONDS;
}

/**
 * Seconds to wait before sending the same request again when every GraphQL error of `error` is retryable
 * (SERVICE_UNAVAILABLE, RATE_LIMITED): the largest `extensions.retryAfter` among them, or
 * DEFAULT_RETRY_AFTER_SECONDS. Without GraphQL errors, an HTTP answer of 429, 502, 503 or 504 is retryable too.
 * Undefined when the failure is not retryable: the network failed (handled as being offline), or an error
 * says the request itself is wrong (BAD_USER_INPUT, FORBIDDEN, …), which sending it again cannot fix.
 */
export function retryAfterOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const errors = graphErrorsOf(error);
  if (errors.length === 0) return statusRetryAfterOf(error);
  let seconds = DEFAULT_RETRY_AFTER_SECONDS;
  for (const graphError of errors) {
    const code = codeOf(graphError);
    if (code === undefined || !RETRYABLE_CODES.has(code)) return undefined;
    const retryAfter = graphError.extensions?.['retryAfter'];
    if (typeof retryAfter === 'number' && Number.isFinite(retryAfter) && retryAfter > 0) {
      seconds = Math.max(seconds, Math.ceil(retryAfter));
    }
  }
  return seconds;
}

/** Whether the same request may succeed later: see retryAfterOf. */
export const isRetryable = (error: unknown): boolean => retryAfterOf(error) !== undefined;

/** What to tell a person when the graph could not do something for now (nothing they did wrong). */
export const UNAVAILABLE_MESSAGE = 'Parley is temporarily unavailable. Try again in a moment.';

/**
 * What to tell the person when an operation failed: for a retryable failure, that it is temporary (never the
 * graph's own wording, which names services); otherwise the graph's own message, or `fallback` (network).
 */
export function errorMessage(error: CombinedError | undefined, fallback: string): string {
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined) {
    return errorCodeOf(error) === 'RATE_LIMITED' || error?.response?.status === 429
      ? `Too many attempts. Try again in ${retryAfter} second${retryAfter === 1 ? '' : 's'}.`
      : UNAVAILABLE_MESSAGE;
  }
  return error?.graphQLErrors[0]?.message ?? fallback;
}
