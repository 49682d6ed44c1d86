import autocannon from 'autocannon';

export interface HttpLoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Responses that were not 200, connection errors, timeouts, and 200s carrying GraphQL `errors`. */
  failures: number;
}

/**
 * POSTs `body` to `url` from `connections` keep-alive connections for `seconds` (autocannon), counting every
 * answer that is not a clean GraphQL result as a failure.
 */
export async function postLoad(options: {
  url: string;
  body: string;
  /** One set of headers, or several that requests take in turn (each its own user, say). */
  headers: Record<string, string> | Record<string, string>[];
  connections: number;
  seconds: number;
}): Promise<HttpLoadResult> {
  let graphqlErrors = 0;
  const headerSets = (Array.isArray(options.headers) ? options.headers : [options.headers]).map(
    (headers) => ({
      'content-type': 'application/json',
      ...headers,
    }),
  );
  let next = 0;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    requests: [
      {
        method: 'POST',
        headers: headerSets[0],
        body: options.body,
        // Only when there are several: with setupRequest, autocannon rebuilds every request.
        ...(headerSets.length > 1 && {
          setupRequest: (request) => ({ ...request, headers: headerSets[next++ % headerSets.length] }),
        }),
        onResponse: (status: number, body: string) => {
          if (status === 200 && body.includes('"errors"')) graphqlErrors += 1;
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    failures: result.non2xx + result.errors + result.timeouts + graphqlErrors,
  };
}
