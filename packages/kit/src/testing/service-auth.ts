import { createServiceAuth } from '../service-auth.js';

/**
 * Authorization headers that must not pass as a service's: a token signed with another secret, a user's
 * access token under the `Service` scheme, and garbage. Service-only fields are tested against each.
 */
export async function forgedServiceAuthorizations(userAccessToken: string): Promise<string[]> {
  const otherSecret = createServiceAuth({
    secret: 'not-the-shared-service-token-secret-0123456789',
    service: 'presence',
  });
  return [await otherSecret.authorization(), `Service ${userAccessToken}`, 'Service x.y.z'];
}
