import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayWindow } from '../../src/crypto/replay-window.js';

/** The obvious model: a set of everything committed, and the window rule. */
class Model {
  private readonly seen = new Set<number>();
  largest = -1;
  constructor(private readonly size: number) {}
  check(pn: number): boolean {
    if (pn > this.largest) return true;
    return this.largest - pn < this.size && !this.seen.has(pn);
  }
  commit(pn: number): boolean {
    if (!this.check(pn)) return false;
    this.seen.add(pn);
    this.largest = Math.max(this.largest, pn);
    return true;
  }
}

type Op = { kind: 'check' | 'commit'; delta: number };

describe('ReplayWindow', () => {
  it('behaves like the Set-based model (property)', () => {
    // Deltas relative to the current largest: duplicates, in-window, edges, jumps forward,
    // scaled to the window so small windows see multi-word jumps and reuse of ring words.
    const opsFor = (size: number) =>
      fc.array(
        fc.record({
          kind: fc.constantFrom<'check' | 'commit'>('check', 'commit', 'commit'),
          delta: fc.oneof(
            fc.integer({ min: -40, max: 3 }),
            fc.integer({ min: -size - 40, max: 40 }),
            fc.integer({ min: -2 * size - 64, max: 2 * size + 64 }),
            fc.integer({ min: 1, max: 20_000 }),
            fc.constantFrom(0, -31, -32, -33, -63, -64, -99, -100, -size + 1, -size, -size - 1),
          ),
        }),
        { minLength: 1, maxLength: 400 },
      );
    const cases = fc.constantFrom(1, 31, 32, 33, 64, 100, 8192).chain((size) => fc.tuple(fc.constant(size), opsFor(size)));
    fc.assert(
      fc.property(cases, ([size, ops]: [number, Op[]]) => {
        const w = new ReplayWindow(size);
        const m = new Model(size);
        for (const { kind, delta } of ops) {
          const pn = Math.max(0, m.largest + delta);
          if (kind === 'check') expect(w.check(pn), `check ${pn}`).toBe(m.check(pn));
          else expect(w.commit(pn), `commit ${pn}`).toBe(m.commit(pn));
          expect(w.largest).toBe(m.largest);
        }
      }),
      { seed: 31, numRuns: 300 },
    );
  });

  it('defaults to 8192 and rejects exactly at the window edge', () => {
    const w = new ReplayWindow();
    expect(w.size).toBe(8192);
    expect(w.largest).toBe(-1);
    expect(w.commit(10_000)).toBe(true);
    expect(w.check(10_000 - 8191)).toBe(true);
    expect(w.check(10_000 - 8192)).toBe(false);
    expect(w.commit(10_000)).toBe(false);
    expect(w.commit(9_999)).toBe(true);
    expect(w.check(9_999)).toBe(false);
    expect(w.check(10_001)).toBe(true);
  });

  it('handles packet numbers beyond 2^32 and refuses non-numbers', () => {
    const w = new ReplayWindow(64);
    const big = 2 ** 40 + 17;
    expect(w.commit(big)).toBe(true);
    expect(w.check(big - 63)).toBe(true);
    expect(w.check(big - 64)).toBe(false);
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) expect(w.check(bad)).toBe(false);
    w.reset();
    expect(w.largest).toBe(-1);
    expect(w.check(0)).toBe(true);
    expect(() => new ReplayWindow(0)).toThrow();
  });
});
