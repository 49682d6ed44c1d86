import { isIP } from 'node:net';

/** `::ffff:10.0.0.1` → `10.0.0.1`; anything that is not an IP address → null. */
export function normalizeIp(address: string | undefined | null): string | null {
  if (!address) return null;
  const trimmed = address.trim();
  const unmapped = trimmed.toLowerCase().startsWith('::ffff:') ? trimmed.slice(7) : trimmed;
  return isIP(unmapped) ? unmapped : isIP(trimmed) ? trimmed : null;
}

/**
 * The caller's address as a plain IP. Behind the router (`trustProxy`) it is the first hop of
 * X-Forwarded-For; otherwise the socket's peer address.
 */
export function clientIp(
  headers: Headers,
  socketAddress: string | undefined,
  trustProxy: boolean,
): string | null {
  if (trustProxy) {
    const forwarded = headers.get('x-forwarded-for')?.split(',')[0];
    const ip = normalizeIp(forwarded);
    if (ip) return ip;
  }
  return normalizeIp(socketAddress);
}
