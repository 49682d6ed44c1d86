import { randomBytes } from 'node:crypto';
import { REQUEST_ID_HEADER, type BaseContext } from '@parley/kit';

export interface RouterContext extends BaseContext {
  /** Who is calling, from `graphql-client-name` (or Apollo's `apollographql-client-name`). */
  clientName: string | null;
  /** What every subgraph request of this operation carries: identity, request id, trace context. */
  subgraphHeaders: Record<string, string>;
}

/** Client names key trusted-document lists (and Redis keys): letters, digits, `.`, `_`, `-`. */
export const isClientName = (name: string) => /^[A-Za-z0-9._-]{1,64}$/.test(name);

/** The client name a caller declares; persisted-only mode looks up that client's registered operations. */
export function clientNameOf(headers: Headers): string | null {
  const name = headers.get('graphql-client-name') ?? headers.get('apollographql-client-name');
  return name && isClientName(name) ? name : null;
}

// W3C Trace Context: version 00, 32-hex trace id, 16-hex parent id, 2-hex flags; all-zero ids are invalid.
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The caller's `traceparent` when valid, with the router as the new parent span; otherwise a new
 * sampled trace. `tracestate` travels only with a valid `traceparent`, as the spec requires.
 */
function traceHeaders(headers: Headers): Record<string, string> {
  const incoming = headers.get('traceparent')?.trim().toLowerCase();
  const spanId = randomBytes(8).toString('hex');
  if (incoming && TRACEPARENT.test(incoming)) {
    const [, traceId, , flags] = incoming.split('-');
    const tracestate = headers.get('tracestate');
    return {
      traceparent: `00-${traceId}-${spanId}-${flags}`,
      ...(tracestate ? { tracestate: tracestate.slice(0, 512) } : {}),
    };
  }
  return { traceparent: `00-${randomBytes(16).toString('hex')}-${spanId}-01` };
}

export function createRouterContext(base: BaseContext, request: Request): RouterContext {
  const { headers } = request;
  const clientName = clientNameOf(headers);
  const authorization = headers.get('authorization');
  return {
    ...base,
    clientName,
    subgraphHeaders: {
      [REQUEST_ID_HEADER]: base.requestId,
      ...traceHeaders(headers),
      ...(authorization ? { authorization } : {}),
      // Subgraphs run with TRUST_PROXY: they see the caller's address and agent, not the router's.
      ...(base.clientIp ? { 'x-forwarded-for': base.clientIp } : {}),
      ...(base.userAgent ? { 'user-agent': base.userAgent } : {}),
      ...(clientName ? { 'graphql-client-name': clientName } : {}),
    },
  };
}
