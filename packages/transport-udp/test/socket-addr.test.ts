import { describe, expect, it } from 'vitest';
import { isWraithError } from '@wraith/core';
import { checkSocketAddr, mapV4, parseSocketAddr, unmapV4 } from '../src/socket-addr.js';
import { procNetAddr } from '../src/kernel-drops.js';

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isWraithError(e) ? e.code : `not a WraithError: ${String(e)}`;
  }
  return undefined;
}

describe('parseSocketAddr', () => {
  it('reads IPv4, bracketed IPv6 and port 0', () => {
    expect(parseSocketAddr('127.0.0.1:9000')).toEqual({ host: '127.0.0.1', port: 9000 });
    expect(parseSocketAddr('[::]:0')).toEqual({ host: '::', port: 0 });
    expect(parseSocketAddr('[fe80::1]:65535')).toEqual({ host: 'fe80::1', port: 65535 });
  });

  it.each([
    'localhost:9000',
    '127.0.0.1',
    '::1:9000',
    '[::1]9000',
    '[::1:9000',
    '[127.0.0.1]:1',
    '127.0.0.1:65536',
    '127.0.0.1:-1',
    '127.0.0.1:port',
    '300.0.0.1:1',
    '',
  ])('rejects %j with E_ADDR_INVALID naming it', (text) => {
    expect(codeOf(() => parseSocketAddr(text))).toBe('E_ADDR_INVALID');
    try {
      parseSocketAddr(text);
    } catch (e) {
      expect((e as Error).message).toContain(`"${text}"`);
    }
  });

  it('checks address objects the same way', () => {
    expect(codeOf(() => checkSocketAddr({ host: 'example.org', port: 1 }))).toBe('E_ADDR_INVALID');
    expect(codeOf(() => checkSocketAddr({ host: '::1', port: 1.5 }))).toBe('E_ADDR_INVALID');
    expect(checkSocketAddr({ host: '::1', port: 1 })).toEqual({ host: '::1', port: 1 });
  });

  it('maps IPv4 to IPv4-mapped IPv6 and back, leaving real IPv6 alone', () => {
    expect(unmapV4('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(unmapV4(mapV4('127.0.0.1'))).toBe('127.0.0.1');
    expect(unmapV4('::ffff:a01:203')).toBe('::ffff:a01:203');
    expect(unmapV4('2001:db8::1')).toBe('2001:db8::1');
  });
});

describe('procNetAddr', () => {
  it('writes addresses as /proc/net/udp{,6} does (32-bit words, host byte order)', () => {
    expect(procNetAddr({ host: '127.0.0.1', port: 0xd97f })).toBe('0100007F:D97F');
    expect(procNetAddr({ host: '0.0.0.0', port: 53 })).toBe('00000000:0035');
    expect(procNetAddr({ host: '::', port: 0xde18 })).toBe(`${'0'.repeat(32)}:DE18`);
    expect(procNetAddr({ host: '::1', port: 0xa205 })).toBe('00000000000000000000000001000000:A205');
    expect(procNetAddr({ host: '::ffff:127.0.0.1', port: 1 })).toBe('0000000000000000FFFF00000100007F:0001');
    expect(procNetAddr({ host: '2001:db8::2:1', port: 1 })).toBe('B80D0120000000000000000001000200:0001');
  });
});
