import type { CombinedError } from '@urql/core';

/** What to tell the person when an operation failed: the graph's own message, or `fallback` (network). */
export const errorMessage = (error: CombinedError | undefined, fallback: string) =>
  error?.graphQLErrors[0]?.message ?? fallback;
