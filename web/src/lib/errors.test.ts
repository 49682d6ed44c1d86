import { CombinedError } from '@urql/core';
import { describe, expect, it } from 'vitest';
import { UNAVAILABLE_MESSAGE, errorCodeOf, errorMessage, isRetryable, retryAfterOf } from './errors';
import { GraphRequestError } from './persisted-fetch';

/** A CombinedError as urql makes it from the graph's `errors`. */
const graphErrors = (...errors: { message?: string; extensions: Record<string, unknown> }[]) =>
  new CombinedError({ graphQLErrors: errors.map((error) => ({ message: 'failed', ...error })) });

const unavailable = (retryAfter?: number) =>
  graphErrors({
    message: 'The users service could not be reached',
    extensions: { code: 'SERVICE_UNAVAILABLE', ...(retryAfter !== undefined && { retryAfter }) },
  });

describe('retryAfterOf / isRetryable', () => {
  it('says SERVICE_UNAVAILABLE is retryable after its retryAfter, 1 s when it does not say', () => {
    expect(retryAfterOf(unavailable(1))).toBe(1);
    expect(retryAfterOf(unavailable(3))).toBe(3);
    expect(retryAfterOf(unavailable(2.2))).toBe(3);
    expect(retryAfterOf(unavailable())).toBe(1);
    expect(retryAfterOf(unavailable(0))).toBe(1);
    expect(isRetryable(unavailable(1))).toBe(true);
  });

  it('says RATE_LIMITED is retryable after its retryAfter', () => {
    const limited = graphErrors({ extensions: { code: 'RATE_LIMITED', retryAfter: 42 } });
    expect(retryAfterOf(limited)).toBe(42);
    expect(errorMessage(limited, 'fallback')).toBe('Too many attempts. Try again in 42 seconds.');
  });

  it('waits the longest retryAfter when every error is retryable', () => {
    const both = graphErrors(
      { extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 1 } },
      { extensions: { code: 'RATE_LIMITED', retryAfter: 5 } },
    );
    expect(retryAfterOf(both)).toBe(5);
  });

  it('says errors about the request itself are not retryable, even beside a retryable one', () => {
    for (const code of ['BAD_USER_INPUT', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'INTERNAL_SERVER_ERROR']) {
      expect(isRetryable(graphErrors({ extensions: { code } })), code).toBe(false);
    }
    expect(isRetryable(graphErrors({ extensions: {} }))).toBe(false);
    const mixed = graphErrors(
      { extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 1 } },
      { extensions: { code: 'FORBIDDEN' } },
    );
    expect(isRetryable(mixed)).toBe(false);
  });

  it('leaves a network failure to the offline handling, but retries a gateway that answered 502/503/504 or 429', () => {
    expect(isRetryable(new CombinedError({ networkError: new TypeError('Failed to fetch') }))).toBe(false);
    const gateway = (status: number, headers: Record<string, string> = {}) =>
      new CombinedError({
        networkError: new Error('Service Unavailable'),
        response: new Response('<html>busy</html>', { status, headers }),
      });
    expect(retryAfterOf(gateway(503))).toBe(1);
    expect(retryAfterOf(gateway(503, { 'retry-after': '7' }))).toBe(7);
    expect(retryAfterOf(gateway(502))).toBe(1);
    expect(retryAfterOf(gateway(429, { 'retry-after': '30' }))).toBe(30);
    expect(isRetryable(gateway(500))).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
    expect(isRetryable(new Error('boom'))).toBe(false);
  });

  it("reads persistedFetch's GraphRequestError the same way", () => {
    const error = new GraphRequestError([
      { message: 'unavailable', extensions: { code: 'SERVICE_UNAVAILABLE', retryAfter: 2 } },
    ]);
    expect(retryAfterOf(error)).toBe(2);
    expect(errorCodeOf(error)).toBe('SERVICE_UNAVAILABLE');
    expect(isRetryable(new GraphRequestError([{ message: 'no', extensions: { code: 'FORBIDDEN' } }]))).toBe(
      false,
    );
  });
});

describe('errorMessage', () => {
  it('tells the person a SERVICE_UNAVAILABLE is temporary, never the graph’s wording about its services', () => {
    expect(errorMessage(unavailable(1), 'fallback')).toBe(UNAVAILABLE_MESSAGE);
  });

  it("keeps the graph's own message for other errors, and the fallback for network failures", () => {
    expect(
      errorMessage(graphErrors({ message: 'Body is too long', extensions: { code: 'BAD_USER_INPUT' } }), 'x'),
    ).toBe('Body is too long');
    expect(
      errorMessage(new CombinedError({ networkError: new TypeError('Failed to fetch') }), 'Not sent'),
    ).toBe('Not sent');
    expect(errorMessage(undefined, 'Not sent')).toBe('Not sent');
  });
});
