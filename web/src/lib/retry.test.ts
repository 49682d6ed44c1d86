import { Client, fetchExchange, type OperationResult } from '@urql/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QUERY_MAX_ATTEMPTS, QUERY_RETRY_MAX_DELAY_MS, queryRetryExchange } from './retry';
import { createServiceStatus } from './service-status';

// Plain strings, not gql tags: codegen plucks tagged documents from web/src into the persisted manifest.
const MeQuery = 'query Me { me { id } }';
const RenameMutation = 'mutation Rename($name: String!) { rename(name: $name) { id } }';

type Answer = { status?: number; body: unknown; headers?: Record<string, string> };
const data: Answer = { body: { data: { me: { __typename: 'User', id: 'u1' } } } };
const unavailable = (retryAfter?: number): Answer => ({
  // The router answers what a subgraph could not with the subgraph's error, status 200.
  body: {
    data: null,
    errors: [
      {
        message: 'The users service could not be reached',
        extensions: { code: 'SERVICE_UNAVAILABLE', ...(retryAfter !== undefined && { retryAfter }) },
      },
    ],
  },
});
const refused = (code: string): Answer => ({
  body: { data: null, errors: [{ message: `${code} answer`, extensions: { code } }] },
});

/**
 * A client with the app's retry and status exchanges over urql's own fetchExchange, whose `fetch` answers the
 * requests, in order, with `answers` (`data` once they run out), as the router would over HTTP.
 */
function setup(...answers: Answer[]) {
  const requests: { at: number; operationName: string | undefined }[] = [];
  const status = createServiceStatus();
  const fetch = async (_url: RequestInfo | URL, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as { operationName?: string };
    requests.push({ at: Date.now(), operationName: body.operationName });
    const answer = answers.shift() ?? data;
    return new Response(JSON.stringify(answer.body), {
      status: answer.status ?? 200,
      headers: { 'content-type': 'application/json', ...answer.headers },
    });
  };
  const client = new Client({
    url: 'http://graph.test/graphql',
    fetch,
    requestPolicy: 'network-only',
    // As the app's persisted operations: POST.
    preferGetMethod: false,
    exchanges: [status.exchange, queryRetryExchange({ onRetry: status.retrying }), fetchExchange],
  });
  /** Keeps `MeQuery` shown (as a screen would), collecting its results. */
  const watch = () => {
    const results: OperationResult[] = [];
    const { unsubscribe } = client.query(MeQuery, {}).subscribe((result) => results.push(result));
    return { results, unsubscribe };
  };
  return { client, status, requests, watch };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('queryRetryExchange', () => {
  it('sends a query answered SERVICE_UNAVAILABLE again after retryAfter, and the screen only ever sees the data', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { requests, watch, status } = setup(unavailable(1), data);
    const { results, unsubscribe } = watch();
    await vi.advanceTimersByTimeAsync(0);
    expect(requests).toHaveLength(1);
    expect(results).toEqual([]);
    expect(status.availability()).toBe('retrying');

    // Never before the graph's retryAfter.
    await vi.advanceTimersByTimeAsync(999);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests).toHaveLength(2);
    expect(results.map((result) => [result.data, result.error])).toEqual([
      [{ me: { __typename: 'User', id: 'u1' } }, undefined],
    ]);
    expect(status.availability()).toBe('available');
    unsubscribe();
  });

  it('waits a longer retryAfter, whatever the random backoff draws', async () => {
    for (const draw of [0, 0.999]) {
      vi.spyOn(Math, 'random').mockReturnValue(draw);
      const { requests, watch } = setup(unavailable(5), data);
      const { results, unsubscribe } = watch();
      await vi.advanceTimersByTimeAsync(4_999);
      expect(requests, `random ${draw}`).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(QUERY_RETRY_MAX_DELAY_MS);
      expect(requests, `random ${draw}`).toHaveLength(2);
      expect(results[0]?.data).toEqual({ me: { __typename: 'User', id: 'u1' } });
      unsubscribe();
    }
  });

  it('backs off with bounded delays, gives up after QUERY_MAX_ATTEMPTS and then shows the error', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const { requests, watch, status } = setup(
      ...Array.from({ length: QUERY_MAX_ATTEMPTS + 1 }, () => unavailable(1)),
    );
    const { results, unsubscribe } = watch();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(requests).toHaveLength(QUERY_MAX_ATTEMPTS);
    const gaps = requests.slice(1).map((request, index) => request.at - requests[index]!.at);
    for (const [index, gap] of gaps.entries()) {
      expect(gap).toBeGreaterThanOrEqual(1000);
      expect(gap).toBeLessThanOrEqual(QUERY_RETRY_MAX_DELAY_MS);
      if (index > 0) expect(gap).toBeGreaterThanOrEqual(Math.min(gaps[index - 1]!, QUERY_RETRY_MAX_DELAY_MS));
    }
    expect(gaps.at(-1)).toBe(QUERY_RETRY_MAX_DELAY_MS);
    expect(results).toHaveLength(1);
    expect(results[0]?.error?.graphQLErrors[0]?.extensions['code']).toBe('SERVICE_UNAVAILABLE');
    expect(status.availability()).toBe('unavailable');

    // "Try again": the query shown goes again at once (still unavailable, so again by itself), and the graph is back.
    status.retryNow();
    expect(status.availability()).toBe('retrying');
    await vi.advanceTimersByTimeAsync(0);
    expect(requests).toHaveLength(QUERY_MAX_ATTEMPTS + 1);
    expect(status.availability()).toBe('retrying');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(requests).toHaveLength(QUERY_MAX_ATTEMPTS + 2);
    expect(results.at(-1)?.data).toEqual({ me: { __typename: 'User', id: 'u1' } });
    expect(status.availability()).toBe('available');

    unsubscribe();
  });

  it('does not send again a query the graph refused (FORBIDDEN, BAD_USER_INPUT)', async () => {
    for (const code of ['FORBIDDEN', 'BAD_USER_INPUT']) {
      const { requests, watch, status } = setup(refused(code));
      const { results, unsubscribe } = watch();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(requests, code).toHaveLength(1);
      expect(results[0]?.error?.graphQLErrors[0]?.extensions['code']).toBe(code);
      expect(status.availability()).toBe('available');
      unsubscribe();
    }
  });

  it('never sends a mutation again by itself, and says it failed for now', async () => {
    const { client, requests, status } = setup(unavailable(1));
    const result = await client.mutation(RenameMutation, { name: 'x' }).toPromise();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(requests).toHaveLength(1);
    expect(result.error?.graphQLErrors[0]?.extensions['code']).toBe('SERVICE_UNAVAILABLE');
    expect(status.availability()).toBe('available');
  });

  it('stops retrying a query no screen shows any more', async () => {
    const { requests, watch, status } = setup(unavailable(1), unavailable(1), data);
    const { unsubscribe } = watch();
    await vi.advanceTimersByTimeAsync(0);
    expect(status.availability()).toBe('retrying');
    unsubscribe();
    await vi.advanceTimersByTimeAsync(0);
    expect(status.availability()).toBe('available');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(requests).toHaveLength(1);
  });

  it('retries an HTTP 503 answered with the same error body', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { requests, watch } = setup(
      { ...unavailable(2), status: 503, headers: { 'retry-after': '2' } },
      data,
    );
    const { results, unsubscribe } = watch();
    await vi.advanceTimersByTimeAsync(1_999);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests).toHaveLength(2);
    expect(results[0]?.data).toEqual({ me: { __typename: 'User', id: 'u1' } });
    unsubscribe();
  });
});
