import { type Parley, sharedParley } from '@parley/testkit';
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let parley: Parley;

beforeAll(async () => {
  parley = await sharedParley();
});
afterAll(() => parley?.stop());

/**
 * The GraphQL over HTTP conformance audits of the `graphql-http` package, against the real router.
 * GET requests carry the CSRF-prevention header a real client sends (see CSRF_HEADERS); nothing else
 * is changed.
 */
describe('GraphQL over HTTP audits (graphql-http serverAudits)', () => {
  const fetchWithCsrfHeader = (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('x-parley-csrf', '1');
    return fetch(input, { ...init, headers });
  };
  const audits = serverAudits({ url: () => parley.url, fetchFn: fetchWithCsrfHeader });

  it('runs the audits', () => {
    expect(audits.filter((audit) => audit.name.startsWith('MUST')).length).toBeGreaterThan(10);
  });

  // Every MUST, and the SHOULD and MAY audits too: the router passes them all.
  for (const audit of audits) {
    it(audit.name, async () => {
      const result = await audit.fn();
      expect(result.status, 'reason' in result ? result.reason : undefined).toBe('ok');
    });
  }
});
