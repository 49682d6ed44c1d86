import { describe, expect, it } from 'vitest';
import { clientIp, normalizeIp } from './client-ip.js';

describe('normalizeIp', () => {
  it.each([
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['::FFFF:192.168.1.20', '192.168.1.20'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['2001:db8::1', '2001:db8::1'],
    ['::1', '::1'],
  ])('%j → %j', (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  it.each([undefined, null, '', 'unknown', '10.0.0.256', '::ffff:not-an-ip', '10.0.0.1:443'])(
    'refuses %j as not an IP address',
    (input) => {
      expect(normalizeIp(input)).toBeNull();
    },
  );
});

describe('clientIp', () => {
  const forwarded = (value: string) => new Headers({ 'x-forwarded-for': value });

  it('ignores X-Forwarded-For unless the proxy is trusted: a client could write anything there', () => {
    expect(clientIp(forwarded('203.0.113.7'), '::ffff:10.0.0.9', false)).toBe('10.0.0.9');
  });

  it('behind a trusted proxy, takes the hop that proxy appended (the last), normalized', () => {
    // A client can send "1.2.3.4" itself; the proxy then appends the address it really saw.
    expect(clientIp(forwarded('1.2.3.4, 203.0.113.7'), '10.0.0.9', true)).toBe('203.0.113.7');
    expect(clientIp(forwarded('1.2.3.4,203.0.113.7 '), '10.0.0.9', true)).toBe('203.0.113.7');

    expect(clientIp(forwarded('::ffff:198.51.100.4'), '10.0.0.9', true)).toBe('198.51.100.4');
  });

  it('falls back to the socket address when a trusted X-Forwarded-For is absent or not an IP', () => {
    expect(clientIp(new Headers(), '::ffff:10.0.0.9', true)).toBe('10.0.0.9');
    expect(clientIp(forwarded('unknown'), '10.0.0.9', true)).toBe('10.0.0.9');
  });

  it('is null when no address is known', () => {
    expect(clientIp(new Headers(), undefined, false)).toBeNull();
  });
});
