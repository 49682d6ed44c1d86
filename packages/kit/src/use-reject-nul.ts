import type { Plugin } from 'graphql-yoga';
import { badUserInput } from './errors.js';

function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, entry]) => key.includes('\u0000') || containsNul(entry));
  }
  return false;
}

// A NUL written as a GraphQL escape in the query text: \u0000 or \u{0}.
const ESCAPED_NUL = /\\u0000|\\u\{0+\}/i;
const hasNul = (query: string) => query.includes('\u0000') || ESCAPED_NUL.test(query);

/**
 * PostgreSQL text cannot hold U+0000, so a NUL anywhere in a request would surface as a database error.
 * Refusing it up front, for every field of every service, turns that into one clear BAD_USER_INPUT.
 */
export function useRejectNul(): Plugin {
  return {
    onParams({ params }) {
      if (containsNul(params.variables) || (params.query && hasNul(params.query))) {
        throw badUserInput('Text must not contain the NUL character (U+0000)');
      }
    },
  };
}
