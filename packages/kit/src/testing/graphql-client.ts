export interface GraphQLResponse<TData = Record<string, unknown>> {
  status: number;
  data?: TData | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  headers: Headers;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * A minimal GraphQL-over-HTTP client for tests: works with a real URL (global fetch) or in-process with
 * `yoga.fetch`. `token` sets the bearer; `headers` adds more (user agent, forwarded-for).
 */
export function createGraphQLClient(options: {
  url: string;
  fetch?: Fetch;
  token?: string;
  headers?: Record<string, string>;
}) {
  const doFetch: Fetch = options.fetch ?? ((input, init) => fetch(input, init));
  let token = options.token;

  /** Sends any GraphQL-over-HTTP parameters as a POST: `query`, `documentId`, `extensions`, ... */
  // Tests read ad-hoc response shapes; pass TData for typed access.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function send<TData = Record<string, any>>(
    params: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<GraphQLResponse<TData>> {
    const body = JSON.stringify(params);
    const response = await doFetch(options.url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        'content-length': String(Buffer.byteLength(body)),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...options.headers,
        ...headers,
      },
    });
    const json = (await response.json()) as Omit<GraphQLResponse<TData>, 'status' | 'headers'>;
    return { ...json, status: response.status, headers: response.headers };
  }

  return {
    setToken(next: string | undefined) {
      token = next;
    },
    send,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    request<TData = Record<string, any>>(
      query: string,
      variables?: Record<string, unknown>,
      headers: Record<string, string> = {},
    ): Promise<GraphQLResponse<TData>> {
      return send<TData>({ query, variables }, headers);
    },
  };
}

export type GraphQLClient = ReturnType<typeof createGraphQLClient>;

interface WithErrors {
  errors?: { extensions?: Record<string, unknown> }[];
}

/** `extensions` of the first error (empty when the response has none). */
export const extensionsOf = (response: WithErrors): Record<string, unknown> =>
  response.errors?.[0]?.extensions ?? {};

/** `extensions.code` of the first error. */
export const codeOf = (response: WithErrors): unknown => extensionsOf(response)['code'];

/** `extensions.reason` of the first error (why an UNAUTHENTICATED, say). */
export const reasonOf = (response: WithErrors): unknown => extensionsOf(response)['reason'];
