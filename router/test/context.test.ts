import { createLogger, type BaseContext } from '@parley/kit';
import { describe, expect, it } from 'vitest';
import { clientNameOf, createRouterContext } from '../src/context.js';

const base: BaseContext = {
  requestId: 'req-1',
  logger: createLogger({ service: 'test', level: 'silent' }),
  viewer: null,
  authError: null,
  clientIp: '203.0.113.9',
  userAgent: 'Agent/1',
};

const contextFor = (headers: Record<string, string>) =>
  createRouterContext(base, new Request('http://router.test/graphql', { headers }));

describe('subgraph headers', () => {
  it('continues a valid W3C trace with the router as parent, keeping tracestate', () => {
    const { subgraphHeaders } = contextFor({
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
      tracestate: 'vendor=1',
    });
    expect(subgraphHeaders['traceparent']).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/);
    expect(subgraphHeaders['traceparent']).not.toContain('00f067aa0ba902b7');
    expect(subgraphHeaders['tracestate']).toBe('vendor=1');
  });

  it('starts a new trace for a missing or invalid traceparent, and drops tracestate with it', () => {
    for (const traceparent of [
      '',
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    ]) {
      const { subgraphHeaders } = contextFor({ traceparent, tracestate: 'vendor=1' });
      expect(subgraphHeaders['traceparent']).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(subgraphHeaders['traceparent']).not.toContain('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(subgraphHeaders['tracestate']).toBeUndefined();
    }
  });

  it('forwards identity, address, agent, request id and client name', () => {
    const { subgraphHeaders } = contextFor({ authorization: 'Bearer abc', 'graphql-client-name': 'acme' });
    expect(subgraphHeaders).toMatchObject({
      authorization: 'Bearer abc',
      'x-request-id': 'req-1',
      'x-forwarded-for': '203.0.113.9',
      'user-agent': 'Agent/1',
      'graphql-client-name': 'acme',
    });
  });
});

describe('clientNameOf', () => {
  it('accepts either header and refuses names that are not plain identifiers', () => {
    expect(clientNameOf(new Headers({ 'apollographql-client-name': 'web' }))).toBe('web');
    expect(clientNameOf(new Headers({ 'graphql-client-name': 'a b' }))).toBeNull();
    expect(clientNameOf(new Headers({ 'graphql-client-name': 'x'.repeat(65) }))).toBeNull();
    expect(clientNameOf(new Headers())).toBeNull();
  });
});
