/**
 * The address codecs of the native path, without sockets: IPv6 text against
 * the WHATWG URL serializer (RFC 5952 compression), the source decoder's
 * cache (one object per peer, correct after it starts over), and the
 * destination table (ids registered once, unroutable ones, starting over).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SocketAddr } from '@wraith/core';
import { ADDR_CACHE_LIMIT, formatIPv6, PeerTable, SourceDecoder } from '../src/native-addr.js';

/** The reference: URL's host serializer compresses IPv6 the RFC 5952 way. */
function urlIPv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** 16 bytes biased towards zero groups (where compression is decided). */
const v6Bytes = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((gs) => {
    const b = new Uint8Array(16);
    gs.forEach((g, i) => {
      b[2 * i] = g >> 8;
      b[2 * i + 1] = g & 0xff;
    });
    return b;
  });

describe('formatIPv6', () => {
  it('writes the well-known forms', () => {
    const b = new Uint8Array(16);
    expect(formatIPv6(b)).toBe('::');
    b[15] = 1;
    expect(formatIPv6(b)).toBe('::1');
    const doc = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]);
    expect(formatIPv6(doc)).toBe('2001:db8::2:1');
    // One zero group is not compressed; the first of two equal runs is.
    expect(formatIPv6(Uint8Array.from([0, 1, 0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7]))).toBe('1:0:2:3:4:5:6:7');
    expect(formatIPv6(Uint8Array.from([0, 1, 0, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 0, 0, 4]))).toBe('1::2:3:0:0:4');
  });

  it('matches the URL serializer for any address', () => {
    fc.assert(
      fc.property(v6Bytes, (b) => {
        expect(formatIPv6(b)).toBe(urlIPv6(b));
      }),
      { numRuns: 5000 },
    );
  });

  it('reads at an offset', () => {
    const b = new Uint8Array(48);
    b[16 + 15] = 1;
    expect(formatIPv6(b, 16)).toBe('::1');
  });
});

interface Src {
  family: 4 | 6;
  ip: Uint8Array;
  port: number;
  scope: number;
}

function put(d: SourceDecoder, i: number, s: Src | 0): void {
  if (s === 0) {
    d.families[i] = 0;
    return;
  }
  d.families[i] = s.family;
  d.ip.fill(0, 16 * i, 16 * i + 16);
  d.ip.set(s.ip, 16 * i);
  d.ports[i] = s.port;
  d.scopes[i] = s.scope;
}

function text(s: Src): string {
  const host = s.family === 4 ? [...s.ip.subarray(0, 4)].join('.') : urlIPv6(s.ip);
  return s.scope !== 0 ? `${host}%${s.scope}` : host;
}

const src: fc.Arbitrary<Src> = fc.oneof(
  fc.record({
    family: fc.constant(4 as const),
    ip: fc.uint8Array({ minLength: 4, maxLength: 4 }),
    port: fc.integer({ min: 0, max: 65535 }),
    scope: fc.constant(0),
  }),
  fc.record({
    family: fc.constant(6 as const),
    ip: v6Bytes,
    port: fc.integer({ min: 0, max: 65535 }),
    scope: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 32 - 1 })),
  }),
);

describe('SourceDecoder', () => {
  it('decodes every source to its text, one object per peer, and "same as before" to the previous one', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(src, fc.boolean()), { minLength: 1, maxLength: 64 }), (items) => {
        const d = new SourceDecoder(64);
        const addrs = new Array<SocketAddr>(64);
        items.forEach(([s, repeat], i) => put(d, i, i > 0 && repeat ? 0 : s));
        d.decode(addrs, items.length);
        let last: Src | undefined;
        const byText = new Map<string, SocketAddr>();
        items.forEach(([s, repeat], i) => {
          const want = i > 0 && repeat ? last! : s;
          last = want;
          const key = `${text(want)}|${want.port}`;
          expect(addrs[i]).toEqual({ host: text(want), port: want.port });
          const prev = byText.get(key);
          if (prev !== undefined) expect(addrs[i]).toBe(prev);
          byText.set(key, addrs[i]!);
        });
      }),
      { numRuns: 500 },
    );
  });

  it('stays correct across many peers while its cache starts over', () => {
    const d = new SourceDecoder(256);
    const addrs = new Array<SocketAddr>(256);
    const peers = fc.sample(src, 3 * ADDR_CACHE_LIMIT);
    for (let at = 0; at < peers.length; at += 256) {
      const chunk = peers.slice(at, at + 256);
      chunk.forEach((s, i) => put(d, i, s));
      d.decode(addrs, chunk.length);
      chunk.forEach((s, i) => expect(addrs[i]).toEqual({ host: text(s), port: s.port }));
    }
  });
});

describe('PeerTable', () => {
  function table(capacity: number, refuse: (a: SocketAddr) => boolean = () => false) {
    const set: [number, string, number][] = [];
    const t = new PeerTable(
      {
        setPeer: (id, host, port) => {
          if (refuse({ host, port })) return false;
          if (!Number.isInteger(port)) throw new RangeError('port');
          set.push([id, host, port]);
          return true;
        },
      },
      capacity,
      0xffffffff,
    );
    return { t, set };
  }

  it('registers each destination once, by object or by equal host and port', () => {
    const { t, set } = table(16);
    t.reserve(8);
    const a = { host: '127.0.0.1', port: 1 };
    const b = { host: '::1', port: 1 };
    expect(t.id(a)).toBe(0);
    expect(t.id(a)).toBe(0);
    expect(t.id(b)).toBe(1);
    expect(t.id({ host: '127.0.0.1', port: 1 })).toBe(0);
    expect(t.id({ host: '127.0.0.1', port: 2 })).toBe(2);
    expect(set).toEqual([
      [0, '127.0.0.1', 1],
      [1, '::1', 1],
      [2, '127.0.0.1', 2],
    ]);
  });

  it('marks destinations the socket refuses (or a bad port) as unroutable, without using an id', () => {
    const { t } = table(16, (a) => a.host === '::1');
    t.reserve(4);
    expect(t.id({ host: '::1', port: 9 })).toBe(0xffffffff);
    expect(t.id({ host: '127.0.0.1', port: 1.5 })).toBe(0xffffffff);
    expect(t.id({ host: '127.0.0.1', port: 9 })).toBe(0);
  });

  it('starts over only in reserve(), so ids handed out for one chunk stay valid', () => {
    const { t, set } = table(4);
    const addrs = [...Array(10).keys()].map((i) => ({ host: '127.0.0.1', port: 100 + i }));
    t.reserve(3);
    expect(addrs.slice(0, 3).map((a) => t.id(a))).toEqual([0, 1, 2]);
    t.reserve(1); // 3 + 1 <= 4: no reset
    expect(t.id(addrs[3]!)).toBe(3);
    expect(t.resets).toBe(0);
    t.reserve(2); // full: starts over
    expect(t.resets).toBe(1);
    expect(t.id(addrs[4]!)).toBe(0);
    expect(t.id(addrs[0]!)).toBe(1); // registered again under a new id
    expect(set.slice(-2)).toEqual([
      [0, '127.0.0.1', 104],
      [1, '127.0.0.1', 100],
    ]);
    expect(() => {
      t.reserve(0);
      for (const a of addrs) t.id(a);
    }).toThrow(/reserve/);
  });
});
