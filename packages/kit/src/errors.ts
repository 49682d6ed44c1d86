import { GraphQLError } from 'graphql';

/**
 * The one registry of error codes. Every error a client can see carries one of these in
 * `extensions.code`; docs/error-codes.md is generated from this table (`npm run errors:doc`).
 */
export const errorCodes = {
  UNAUTHENTICATED:
    'No valid credentials: the access token is missing, expired, revoked or invalid, or a login failed.',
  FORBIDDEN: 'Authenticated, but not allowed to do this (not a member, not the owner, blocked).',
  NOT_FOUND: 'The id does not exist or is not visible to the caller.',
  BAD_USER_INPUT:
    'An argument is invalid: format, length, range. `extensions.field` names the argument when known.',
  CONFLICT: 'The change collides with existing data (a taken email or username, a duplicate device key).',
  RATE_LIMITED: 'Too many attempts. `extensions.retryAfter` gives the seconds to wait.',
  QUOTA_EXCEEDED:
    'The change would take the caller past a storage quota; `extensions.quotaBytes` and `usedBytes` say how far.',
  PERSISTED_QUERY_NOT_FOUND:
    'The persisted operation hash or document id is unknown; send the full query (APQ) or register it.',
  PERSISTED_QUERY_NOT_IN_LIST:
    'Persisted-only mode: the operation is not registered for this client (`graphql-client-name` header).',
  PERSISTED_QUERY_MISMATCH: 'The APQ `sha256Hash` is not the SHA-256 of the query sent with it.',
  BAD_REQUEST: 'The HTTP request is malformed: invalid JSON, missing query, body too large, wrong method.',
  GRAPHQL_PARSE_FAILED: 'The operation is not valid GraphQL syntax.',
  GRAPHQL_VALIDATION_FAILED: 'The operation does not match the schema (unknown field, missing argument).',
  QUERY_TOO_COMPLEX:
    'The operation exceeds a depth, alias, token or cost limit; the message names the limit.',
  SERVICE_UNAVAILABLE: 'A service behind the router could not be reached; retry later.',
  INTERNAL_SERVER_ERROR:
    'An unexpected failure. Details are logged with the request id, never sent to the client.',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface ErrorExtensions {
  [key: string]: unknown;
}

/** Creates a GraphQL error with a registered code; yoga's masking lets it through unchanged. */
export function codedError(code: ErrorCode, message: string, extensions: ErrorExtensions = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

export const unauthenticated = (message = 'Authentication required', extensions?: ErrorExtensions) =>
  codedError('UNAUTHENTICATED', message, extensions);

export const forbidden = (message = 'Not allowed', extensions?: ErrorExtensions) =>
  codedError('FORBIDDEN', message, extensions);

export const notFound = (message = 'Not found', extensions?: ErrorExtensions) =>
  codedError('NOT_FOUND', message, extensions);

export const badUserInput = (message: string, extensions?: ErrorExtensions) =>
  codedError('BAD_USER_INPUT', message, extensions);

export const conflict = (message: string, extensions?: ErrorExtensions) =>
  codedError('CONFLICT', message, extensions);

export const rateLimited = (retryAfterSeconds: number, message = 'Too many attempts, try again later') =>
  codedError('RATE_LIMITED', message, { retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)) });

export function errorCodeOf(error: unknown): ErrorCode | undefined {
  const code = error instanceof GraphQLError ? error.extensions['code'] : undefined;
  return typeof code === 'string' && code in errorCodes ? (code as ErrorCode) : undefined;
}
