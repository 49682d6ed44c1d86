import { isIP, isIPv6 } from 'node:net';

/** `::ffff:10.0.0.1` → `10.0.0.1`; anything that is not an IP address → null. */
export function normalizeIp(address: string | undefined | null): string | null {
  if (!address) return null;
  const trimmed = address.trim();
  const unmapped = trimmed.toLowerCase().startsWith('::ffff:') ? trimmed.slice(7) : trimmed;
  return isIP(unmapped) ? unmapped : isIP(trimmed) ? trimmed : null;
}

/**
 * The caller's address as a plain IP. Behind the router or a proxy (`trustProxy`) it is the last entry of
 * X-Forwarded-For, the one that trusted proxy appended; entries before it come from the client and can
 * be forged, so they never count. Otherwise it is the socket's peer address.
 */
export function clientIp(
  headers: Headers,
  socketAddress: string | undefined,
  trustProxy: boolean,
): string | null {
  if (trustProxy) {
    const forwarded = headers.get('x-forwarded-for')?.split(',').at(-1);

    const ip = normalizeIp(forwarded);
    if (ip) return ip;
  }
  return normalizeIp(socketAddress);
}

/** One IPv6 host usually owns a whole /64: counting its addresses one by one would not limit it. */
export function addressKey(ip: string): string {
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.toLowerCase().padStart(4, '0'))
    .join(':')}::/64`;
}
