export interface GraphQLResponse<TData = Record<string, unknown>> {
  status: number;
  data?: TData | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  headers: Headers;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * A document as text that carries the types of its result and variables: what GraphQL Code Generator's
 * client preset makes in its string document mode (`TypedDocumentString`, a String object whose
 * `__apiType` is only ever typed, never set). Declared by its shape, so the kit needs neither the generated
 * code nor a package for one type. A String object and not a primitive string, so a plain string never
 * passes for one (and takes the untyped overloads).
 */
// eslint-disable-next-line @typescript-eslint/no-wrapper-object-types -- the String object, on purpose
export type TypedDocumentString<TResult, TVariables> = String &
  object & { __apiType?: (variables: TVariables) => TResult };

/**
 * A typed document's variables as arguments: optional when it requires none (it declares none, or only
 * nullable ones), required otherwise, so a missing required variable is a type error rather than a
 * GraphQL one.
 */
export type VariablesArgs<TVariables> =
  Record<string, never> extends TVariables ? [variables?: TVariables] : [variables: TVariables];

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

  /**
   * Sends a document with its variables. A typed document (codegen's) gives the result and variable types
   * itself; a plain string takes TData, for the documents tests write inline or send to be refused.
   */
  function request<TResult, TVariables>(
    query: TypedDocumentString<TResult, TVariables>,
    ...args: [...VariablesArgs<TVariables>, headers?: Record<string, string>]
  ): Promise<GraphQLResponse<TResult>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  function request<TData = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<GraphQLResponse<TData>>;
  function request(
    query: string | TypedDocumentString<unknown, never>,
    variables?: unknown,
    headers: Record<string, string> = {},
  ): Promise<GraphQLResponse<unknown>> {
    // A TypedDocumentString is a String object: sent as its text.
    return send<unknown>({ query: String(query), variables }, headers);
  }

  return {
    setToken(next: string | undefined) {
      token = next;
    },
    send,
    request,
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
