import { describe, expect, it } from 'vitest';
import { SeededRng } from '../src/rng.js';

describe('SeededRng', () => {
  it('replays exactly from its seed', () => {
    const a = new SeededRng(42);
    const b = new SeededRng(42);
    const xs = Array.from({ length: 100 }, () => a.nextU32());
    const ys = Array.from({ length: 100 }, () => b.nextU32());
    expect(xs).toEqual(ys);
    expect(new Set(xs).size).toBeGreaterThan(95);
  });
  it('differs between seeds and fills byte arrays', () => {
    const a = new Uint8Array(33);
    const b = new Uint8Array(33);
    new SeededRng(1).fill(a);
    new SeededRng(2).fill(b);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(a.some((x) => x !== 0)).toBe(true);
  });
  it('floats stay in [0,1)', () => {
    const r = new SeededRng(7);
    for (let i = 0; i < 10000; i++) {
      const f = r.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
    }
  });
});
