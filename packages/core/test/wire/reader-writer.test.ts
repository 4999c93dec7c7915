import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WraithError } from '../../src/errors.js';
import { MAX_VARINT, Reader, Writer, isVarint, varintLength } from '../../src/wire/index.js';
import { RUNS, decodeOrWireError, expectCode, hex, varint } from './arbitraries.js';

describe('varint', () => {
  it('decodes the RFC 9000 Appendix A.1 samples that fit in 2^53-1', () => {
    expect(new Reader(hex('9d7f3e7d')).varint()).toBe(494_878_333);
    expect(new Reader(hex('7bbd')).varint()).toBe(15_293);
    expect(new Reader(hex('25')).varint()).toBe(37);
    expect(new Reader(hex('4025')).varint()).toBe(37); // non-minimal is still the same value
  });

  it('rejects the 8-byte RFC sample, which exceeds 2^53-1', () => {
    const e = expectCode(() => new Reader(hex('c2197c5eff14e88c')).varint('sample'), 'E_WIRE_VARINT');
    expect(e.message).toContain('sample');
  });

  it('accepts exactly 2^53-1 and rejects 2^53', () => {
    expect(new Reader(hex('c01fffffffffffff')).varint()).toBe(MAX_VARINT);
    expectCode(() => new Reader(hex('c020000000000000')).varint(), 'E_WIRE_VARINT');
  });

  it('encodes in the shortest form at each boundary', () => {
    const cases: Array<[number, string]> = [
      [0, '00'],
      [63, '3f'],
      [64, '4040'],
      [16_383, '7fff'],
      [16_384, '80004000'],
      [2 ** 30 - 1, 'bfffffff'],
      [2 ** 30, 'c000000040000000'],
      [MAX_VARINT, 'c01fffffffffffff'],
    ];
    for (const [v, h] of cases) {
      const buf = new Uint8Array(8);
      const w = new Writer(buf);
      w.varint(v);
      expect(Buffer.from(w.written(0)).toString('hex')).toBe(h);
      expect(varintLength(v)).toBe(h.length / 2);
    }
  });

  it('refuses to encode negative, fractional or unsafe values', () => {
    const w = new Writer(new Uint8Array(8));
    for (const v of [-1, 1.5, MAX_VARINT + 1, Number.NaN, Infinity]) expectCode(() => w.varint(v), 'E_WIRE_VARINT');
    expect(w.offset).toBe(0);
    expect(isVarint(MAX_VARINT)).toBe(true);
    expect(isVarint(-0.5)).toBe(false);
  });

  it('round-trips every safe integer and reports its length', () => {
    const buf = new Uint8Array(8);
    fc.assert(
      fc.property(varint(), (v) => {
        const w = new Writer(buf);
        w.varint(v);
        expect(w.offset).toBe(varintLength(v));
        const r = new Reader(buf, 0, w.offset);
        expect(r.varint()).toBe(v);
        expect(r.atEnd()).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('Reader', () => {
  it('reads big-endian integers', () => {
    const r = new Reader(hex('01 0203 04050607 0000000100000002 ff'));
    expect(r.u8()).toBe(1);
    expect(r.u16()).toBe(0x0203);
    expect(r.u32()).toBe(0x04050607);
    expect(r.u64()).toBe(2 ** 32 + 2);
    expect(r.peekU8()).toBe(0xff);
    expect(r.remaining).toBe(1);
    expect(r.u8()).toBe(0xff);
    expect(r.atEnd()).toBe(true);
  });

  it('reads u32 values with the top bit set as positive numbers', () => {
    expect(new Reader(hex('ffffffff')).u32()).toBe(0xffff_ffff);
  });

  it('rejects a u64 above 2^53-1 without moving', () => {
    const r = new Reader(hex('0020000000000000'));
    expectCode(() => r.u64(), 'E_WIRE_VARINT');
    expect(r.offset).toBe(0);
    expect(new Reader(hex('001fffffffffffff')).u64()).toBe(MAX_VARINT);
  });

  it('throws E_WIRE_TRUNCATED naming the field and offset, for every primitive', () => {
    const reads: Array<[string, (r: Reader) => unknown, string]> = [
      ['u8', (r) => r.u8('f'), ''],
      ['u16', (r) => r.u16('f'), '01'],
      ['u32', (r) => r.u32('f'), '010203'],
      ['u64', (r) => r.u64('f'), '01020304050607'],
      ['varint2', (r) => r.varint('f'), '40'],
      ['varint4', (r) => r.varint('f'), '800000'],
      ['varint8', (r) => r.varint('f'), 'c0000000000000'],
      ['bytes', (r) => r.bytes(3, 'f'), '0102'],
      ['skip', (r) => r.skip(3, 'f'), '0102'],
      ['sub', (r) => r.sub(3, 'f'), '0102'],
    ];
    for (const [, read, h] of reads) {
      const r = new Reader(hex(`aa${h}`), 1);
      const e = expectCode(() => read(r), 'E_WIRE_TRUNCATED');
      expect(e.message).toContain('f:');
      expect(e.message).toContain('offset 1');
      expect(r.offset).toBe(1);
    }
  });

  it('respects an end before the buffer end', () => {
    const r = new Reader(hex('01020304'), 1, 3);
    expect(r.remaining).toBe(2);
    expect(r.u16()).toBe(0x0203);
    expectCode(() => r.u8(), 'E_WIRE_TRUNCATED');
  });

  it('refuses a range outside the buffer', () => {
    expectCode(() => new Reader(new Uint8Array(4), 0, 5), 'E_WIRE_TRUNCATED');
    expectCode(() => new Reader(new Uint8Array(4), 3, 2), 'E_WIRE_TRUNCATED');
    expectCode(() => new Reader(new Uint8Array(4), -1), 'E_WIRE_TRUNCATED');
  });

  it('returns views, not copies', () => {
    const buf = hex('0102030405');
    const r = new Reader(buf, 1);
    const v = r.bytes(3);
    expect(v.buffer).toBe(buf.buffer);
    expect(v.byteOffset).toBe(buf.byteOffset + 1);
    buf.set([9], 2);
    expect(Array.from(v)).toEqual([2, 9, 4]);
  });

  it('rejects negative and fractional byte counts', () => {
    expectCode(() => new Reader(new Uint8Array(4)).bytes(-1), 'E_WIRE_TRUNCATED');
    expectCode(() => new Reader(new Uint8Array(4)).bytes(1.5), 'E_WIRE_TRUNCATED');
  });

  it('expectEnd throws E_WIRE_TRAILING when bytes remain', () => {
    const r = new Reader(hex('0102'));
    r.u8();
    expectCode(() => r.expectEnd(), 'E_WIRE_TRAILING');
    r.u8();
    expect(() => r.expectEnd()).not.toThrow();
  });

  it('sub reads a bounded slice and moves past it', () => {
    const r = new Reader(hex('aa 0102 bb'));
    r.u8();
    const s = r.sub(2);
    expect(r.u8()).toBe(0xbb);
    expect(s.u16()).toBe(0x0102);
    expectCode(() => s.u8(), 'E_WIRE_TRUNCATED');
  });

  it('skipZeros and restIsZero', () => {
    const r = new Reader(hex('000000 01 0000'));
    expect(r.skipZeros()).toBe(3);
    expect(r.restIsZero()).toBe(false);
    r.u8();
    expect(r.restIsZero()).toBe(true);
    expect(r.skipZeros()).toBe(2);
    expect(r.atEnd()).toBe(true);
  });

  it('never throws anything but a WraithError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), fc.array(fc.nat(6), { maxLength: 12 }), (buf, ops) => {
        const r = new Reader(buf);
        decodeOrWireError(() => {
          for (const op of ops) {
            const before = r.offset;
            const v = [() => r.u8(), () => r.u16(), () => r.u32(), () => r.u64(), () => r.varint(), () => r.bytes(3), () => r.skipZeros()][op]!();
            if (typeof v === 'number') expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
            expect(r.offset).toBeGreaterThanOrEqual(before);
            expect(r.offset).toBeLessThanOrEqual(buf.length);
          }
        });
      }),
      RUNS,
    );
  });
});

describe('Writer', () => {
  it('writes the same layout the Reader reads', () => {
    const buf = new Uint8Array(32);
    const w = new Writer(buf, 2);
    w.u8(1);
    w.u16(0x0203);
    w.u32(0xfffefdfc);
    w.u64(MAX_VARINT);
    w.bytes(hex('aabb'));
    w.zeros(3);
    const end = w.offset;
    expect(end).toBe(2 + 1 + 2 + 4 + 8 + 2 + 3);
    const r = new Reader(buf, 2, end);
    expect([r.u8(), r.u16(), r.u32(), r.u64()]).toEqual([1, 0x0203, 0xfffefdfc, MAX_VARINT]);
    expect(Array.from(r.bytes(2))).toEqual([0xaa, 0xbb]);
    expect(r.restIsZero()).toBe(true);
  });

  it('throws E_WIRE_TOO_LARGE before writing anything that does not fit', () => {
    const buf = new Uint8Array(4).fill(7);
    const w = new Writer(buf, 1, 3);
    expectCode(() => w.u32(1), 'E_WIRE_TOO_LARGE');
    expectCode(() => w.u64(1), 'E_WIRE_TOO_LARGE');
    expectCode(() => w.varint(2 ** 20), 'E_WIRE_TOO_LARGE');
    expectCode(() => w.bytes(new Uint8Array(3)), 'E_WIRE_TOO_LARGE');
    expectCode(() => w.zeros(3), 'E_WIRE_TOO_LARGE');
    expect(Array.from(buf)).toEqual([7, 7, 7, 7]);
    expect(w.offset).toBe(1);
    w.u16(0x0102);
    expect(w.remaining).toBe(0);
    expect(Array.from(buf)).toEqual([7, 1, 2, 7]);
  });

  it('rejects out-of-range values with E_WIRE_VARINT', () => {
    const w = new Writer(new Uint8Array(8));
    expectCode(() => w.u8(256), 'E_WIRE_VARINT');
    expectCode(() => w.u16(-1), 'E_WIRE_VARINT');
    expectCode(() => w.u32(2 ** 32), 'E_WIRE_VARINT');
    expectCode(() => w.u64(2 ** 53), 'E_WIRE_VARINT');
  });

  it('refuses a range outside the buffer', () => {
    const e = expectCode(() => new Writer(new Uint8Array(2), 0, 3), 'E_WIRE_TOO_LARGE');
    expect(e).toBeInstanceOf(WraithError);
  });

  it('round-trips random sequences of primitives', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('u8' as const), v: fc.nat(255) }),
      fc.record({ k: fc.constant('u16' as const), v: fc.nat(0xffff) }),
      fc.record({ k: fc.constant('u32' as const), v: fc.nat({ max: 0xffff_ffff }) }),
      fc.record({ k: fc.constant('u64' as const), v: fc.maxSafeNat() }),
      fc.record({ k: fc.constant('varint' as const), v: varint() }),
    );
    const buf = new Uint8Array(16 * 8);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 16 }), (ops) => {
        const w = new Writer(buf);
        for (const o of ops) w[o.k](o.v);
        const r = new Reader(buf, 0, w.offset);
        for (const o of ops) expect(r[o.k]()).toBe(o.v);
        r.expectEnd();
      }),
      RUNS,
    );
  });
});
