import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_VARINT, expandPn, truncatePn } from '../../src/wire/index.js';
import { RUNS } from './arbitraries.js';

const WIN = 2 ** 32;
const HWIN = 2 ** 31;

describe('packet numbers', () => {
  it('truncates to the low 32 bits', () => {
    expect(truncatePn(0)).toBe(0);
    expect(truncatePn(WIN - 1)).toBe(WIN - 1);
    expect(truncatePn(WIN)).toBe(0);
    expect(truncatePn(5 * WIN + 7)).toBe(7);
    expect(truncatePn(MAX_VARINT)).toBe(WIN - 1);
  });

  it('expands the first packet (largest = -1) to its own value', () => {
    expect(expandPn(-1, 0)).toBe(0);
    expect(expandPn(-1, 5)).toBe(5);
  });

  it('follows RFC 9000 A.3, scaled to a 32-bit window', () => {
    // The RFC example (16-bit): largest 0xa82f30ea, truncated 0x9b32 -> 0xa82f9b32.
    // Scaled up by 2^16: the same relationship one window wider.
    const largest = 0xa82f30ea * 2 ** 16;
    expect(expandPn(largest, 0x9b32_0000)).toBe(0xa82f9b32 * 2 ** 16);
  });

  it('wraps forwards and backwards across a window boundary', () => {
    expect(expandPn(WIN - 2, 1)).toBe(WIN + 1); // just past the boundary
    expect(expandPn(WIN + 1, WIN - 3)).toBe(WIN - 3); // a late packet from before it
    expect(expandPn(3 * WIN + 10, 5)).toBe(3 * WIN + 5);
  });

  it('never expands below 0 or above 2^53-1', () => {
    expect(expandPn(10, WIN - 1)).toBe(WIN - 1); // cannot go to -1
    const top = MAX_VARINT - 5;
    expect(expandPn(top, truncatePn(top + 1))).toBe(top + 1);
    expect(expandPn(top, 0) <= MAX_VARINT).toBe(true);
  });

  it('recovers every packet number within half a window of largest + 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1, max: MAX_VARINT - WIN }), fc.integer({ min: -HWIN + 1, max: HWIN - 1 }), (largest, delta) => {
        const pn = largest + 1 + delta;
        fc.pre(pn >= 0);
        expect(expandPn(largest, truncatePn(pn))).toBe(pn);
      }),
      RUNS,
    );
  });

  it('always returns a candidate with the given low bits within the window', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1, max: MAX_VARINT - 1 }), fc.nat({ max: WIN - 1 }), (largest, t) => {
        const pn = expandPn(largest, t);
        expect(truncatePn(pn)).toBe(t);
        expect(pn >= 0 && pn <= MAX_VARINT).toBe(true);
        expect(Math.abs(pn - (largest + 1)) <= WIN).toBe(true);
      }),
      RUNS,
    );
  });
});
