import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ErrorCode } from './errors.js';

function codeFor(error: GraphQLError): ErrorCode {
  const status = (error.extensions['http'] as { status?: number } | undefined)?.status;
  if (error.message.startsWith('Syntax Error')) return 'GRAPHQL_PARSE_FAILED';

  if (error.message.startsWith('Variable "$')) return 'BAD_USER_INPUT';
  if (status !== undefined && status >= 400 && status < 500) return 'BAD_REQUEST';
  if (!error.path) return 'GRAPHQL_VALIDATION_FAILED';
  return 'INTERNAL_SERVER_ERROR';
}

/** Coded, and without the parser's detail yoga adds in development. */
const complete = (error: unknown) =>
  error instanceof GraphQLError && error.extensions['code'] && !('originalError' in error.extensions);

/**
 * Gives every error a registered `extensions.code`: graphql-js and yoga report malformed requests,
 * syntax errors and variable coercion failures without one.
 */
export function useErrorCodes(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !('errors' in result) || !result.errors?.length) return;
      if (result.errors.every(complete)) return;
      setResult({
        ...result,
        errors: result.errors.map((error) => {
          if (!(error instanceof GraphQLError) || complete(error)) return error;
          // yoga attaches the parser's message as `originalError` in development; clients get the code only.
          const { originalError: detail, ...extensions } = error.extensions;
          // yoga answers `application/json` with 200 unless an error carries `originalError`; without it,
          // only a non-spec status keeps a malformed request (invalid JSON) a 400.
          if (detail !== undefined && typeof extensions['http'] === 'object') {
            extensions['http'] = { ...extensions['http'], spec: false };
          }
          return new GraphQLError(error.message, {
            nodes: error.nodes,
            source: error.source,
            positions: error.positions,
            path: error.path,
            originalError: error.originalError,
            extensions: {
              ...extensions,
              code: extensions['code'] ?? codeFor(error),
            },
          });
        }),
      });
    },
  };
}
