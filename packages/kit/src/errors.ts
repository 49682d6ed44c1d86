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
  SERVICE_UNAVAILABLE:
    'Retryable: a service, PostgreSQL or Redis this request needs could not be reached. Retry after `extensions.retryAfter` seconds (a send with the same `clientMutationId` is sent at most once); see docs/failure-modes.md.',
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

/** Seconds a client is told to wait before retrying what an unreachable dependency refused. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/** SERVICE_UNAVAILABLE with `retryAfter`: a dependency is down, not a defect; the same request may succeed later. */
export const serviceUnavailable = (
  message = 'A service this request needs is unavailable; retry later',
  extensions: ErrorExtensions = {},
) =>
  codedError('SERVICE_UNAVAILABLE', message, { retryAfter: UNAVAILABLE_RETRY_AFTER_SECONDS, ...extensions });

/** Network errors of Node's sockets: the peer is not there (or went away). */
const UNREACHABLE_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Prisma's codes for a database it cannot reach or use now: P1001 cannot reach, P1002 timed out, P1008
 * operation timed out, P1017 server closed the connection, P2024 no connection from the pool in time,
 * P2028 transaction could not start in time.
 */
const UNREACHABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028']);

/** Prisma driver adapters' kinds for the same (`DriverAdapterError`'s cause). */
const UNREACHABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionAlreadyClosed',
]);

/** ioredis's errors while Redis is down or unreachable. */
const UNREACHABLE_REDIS_NAMES = new Set(['MaxRetriesPerRequestError']);
const UNREACHABLE_REDIS_MESSAGES = [
  /^Connection is closed\.?$/,
  /^Stream isn't writeable/,
  // REDIS_OPTIONS.commandTimeout: Redis did not answer in time.
  /^Command timed out$/,
];

/**
 * Whether `error` (or anything it was caused by) says a dependency (PostgreSQL, Redis, another service) could
 * not be reached or used now, rather than that the request or the code is wrong: such failures are answered
 * as SERVICE_UNAVAILABLE, which a client retries, never as INTERNAL_SERVER_ERROR.
 */
export function isInfrastructureFailure(error: unknown, depth = 0): boolean {
  if (depth > 8 || typeof error !== 'object' || error === null) return false;
  const { code, name, message, cause, kind, originalError, meta } = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    cause?: unknown;
    kind?: unknown;
    originalError?: unknown;
    /** A raw query's failure (Prisma P2010) carries the driver adapter's error here. */
    meta?: { driverAdapterError?: unknown };
  };
  if (typeof code === 'string') {
    if (UNREACHABLE_SYSTEM_CODES.has(code) || UNREACHABLE_PRISMA_CODES.has(code)) return true;
    // PostgreSQL SQLSTATEs: class 08 (connection exception), 57P01-57P03 (shutting down, cannot connect now),
    // 53300 (too many connections).
    if (/^08[0-9A-Z]{3}$/.test(code) || /^57P0[123]$/.test(code) || code === '53300') return true;
  }
  if (typeof name === 'string') {
    if (name === 'PrismaClientInitializationError' || UNREACHABLE_REDIS_NAMES.has(name)) return true;
  }
  if (typeof kind === 'string' && UNREACHABLE_ADAPTER_KINDS.has(kind)) return true;
  if (typeof message === 'string' && UNREACHABLE_REDIS_MESSAGES.some((pattern) => pattern.test(message))) {
    return true;
  }
  if (
    error instanceof AggregateError &&
    error.errors.some((inner) => isInfrastructureFailure(inner, depth + 1))
  ) {
    return true;
  }
  return (
    isInfrastructureFailure(cause, depth + 1) ||
    isInfrastructureFailure(originalError, depth + 1) ||
    isInfrastructureFailure(meta?.driverAdapterError, depth + 1)
  );
}
