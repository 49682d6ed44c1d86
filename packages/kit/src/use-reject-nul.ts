import { BREAK, visit, type DocumentNode } from 'graphql';
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

// yoga hands out cached documents, and parse hooks run for each request: check each document once.
const checked = new WeakMap<DocumentNode, boolean>();

/** String literals of the parsed operation, where escapes like \u0000 have become real characters. */
function documentContainsNul(document: DocumentNode): boolean {
  let found = checked.get(document);
  if (found !== undefined) return found;
  found = false;
  visit(document, {
    StringValue(node) {
      if (!node.value.includes('\u0000')) return;
      found = true;
      return BREAK;
    },
  });
  checked.set(document, found);
  return found;
}

const nulError = () => badUserInput('Text must not contain the NUL character (U+0000)');

/**
 * PostgreSQL text cannot hold U+0000, so a NUL anywhere in a request would surface as a database error.
 * Refusing it up front, for every field of every service, turns that into one clear BAD_USER_INPUT:
 * in variables before parsing, in string literals once parsed.
 */
export function useRejectNul(): Plugin {
  return {
    onParams({ params }) {
      if (containsNul(params.variables)) throw nulError();
    },
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (result && !(result instanceof Error) && documentContainsNul(result))
          replaceParseResult(nulError());
      };
    },
  };
}
