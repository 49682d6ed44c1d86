import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isRetryable, retryAfterOf } from './errors';
import { GraphRequestError, persistedFetch } from './persisted-fetch';

/** A document as codegen makes it: only its manifest hash is sent. */
const document = { __meta__: { hash: 'sha256:abc' } } as unknown as TypedDocumentNode<
  { ok: boolean },
  object
>;

/** persistedFetch's error when the network answers `response`. */
async function failureOf(response: Response): Promise<GraphRequestError> {
  vi.stubGlobal('fetch', async () => response);
  const error = await persistedFetch('http://graph.test/graphql', document, {}).catch(
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GraphRequestError);
  return error as GraphRequestError;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('persistedFetch', () => {
  it("passes the graph's SERVICE_UNAVAILABLE on, retryable after its retryAfter", async () => {
    const error = await failureOf(
      Response.json(
        { errors: [{ message: 'unavailable', extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 1 } }] },
        { status: 200 },
      ),
    );
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(retryAfterOf(error)).toBe(1);
  });

  it('reads a gateway that answered 503 (no GraphQL body) as SERVICE_UNAVAILABLE, with its Retry-After', async () => {
    const error = await failureOf(
      new Response('<html>Service Unavailable</html>', { status: 503, headers: { 'retry-after': '4' } }),
    );
    expect(error.code).toBe('SERVICE_UNAVAILABLE');
    expect(retryAfterOf(error)).toBe(4);
    expect((await failureOf(new Response('busy', { status: 502 }))).code).toBe('SERVICE_UNAVAILABLE');
    expect((await failureOf(new Response('slow down', { status: 429 }))).code).toBe('RATE_LIMITED');
  });

  it('keeps any other empty answer a plain, not retryable, failure', async () => {
    const error = await failureOf(new Response('oops', { status: 500 }));
    expect(error.message).toBe('HTTP 500');
    expect(error.code).toBeUndefined();
    expect(isRetryable(error)).toBe(false);
  });
});
