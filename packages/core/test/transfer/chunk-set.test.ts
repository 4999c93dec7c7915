import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteRanges, ChunkSet } from '../../src/transfer/index.js';

/** Reference: a plain array of booleans. */
function modelRanges(bits: boolean[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < bits.length; ) {
    if (!bits[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < bits.length && bits[j]) j++;
    out.push([i, j - i]);
    i = j;
  }
  return out;
}
const firstFrom = (bits: boolean[], from: number, want: boolean): number => {
  for (let i = Math.max(0, from); i < bits.length; i++) if (bits[i] === want) return i;
  return -1;
};

type Op = { op: 'add' | 'delete'; i: number } | { op: 'range'; i: number; count: number };

describe('ChunkSet', () => {
  it('matches a boolean-array model under random operations (page boundaries included)', () => {
    const sizes = [1, 31, 32, 33, 1000, 32768, 32769, 70000];
    fc.assert(
      fc.property(
        fc.constantFrom(...sizes),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constantFrom('add' as const, 'delete' as const), i: fc.nat() }),
            fc.record({ op: fc.constant('range' as const), i: fc.nat(), count: fc.integer({ min: 1, max: 40000 }) }),
          ),
          { maxLength: 40 },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        (n, ops: Op[], probes) => {
          const set = new ChunkSet(n);
          const bits = new Array<boolean>(n).fill(false);
          for (const o of ops) {
            const i = o.i % n;
            if (o.op === 'range') {
              const count = Math.min(o.count, n - i);
              set.addRange(i, count);
              for (let k = i; k < i + count; k++) bits[k] = true;
            } else if (o.op === 'add') {
              expect(set.add(i)).toBe(!bits[i]);
              bits[i] = true;
            } else {
              expect(set.delete(i)).toBe(bits[i]);
              bits[i] = false;
            }
          }
          expect(set.count).toBe(bits.filter(Boolean).length);
          expect(set.full).toBe(bits.every(Boolean));
          expect(set.toRanges()).toEqual(modelRanges(bits));
          for (const p of [0, n - 1, ...probes.map((x) => x % n)]) {
            expect(set.has(p)).toBe(bits[p]);
            expect(set.firstMissing(p)).toBe(firstFrom(bits, p, false));
            expect(set.firstPresent(p)).toBe(firstFrom(bits, p, true));
          }
          const copy = ChunkSet.fromRanges(n, set.toRanges());
          expect(copy.toRanges()).toEqual(set.toRanges());
          expect(copy.count).toBe(set.count);
        },
      ),
      { numRuns: 150, seed: 42 },
    );
  });

  it('stays small for a huge sparse set and collapses full pages', () => {
    const n = 2 ** 39; // an OFFER may name this many chunks
    const set = new ChunkSet(n);
    set.add(n - 1);
    set.addRange(2 ** 20, 2 ** 16);
    expect(set.count).toBe(2 ** 16 + 1);
    expect(set.firstPresent(0)).toBe(2 ** 20);
    expect(set.firstMissing(2 ** 20)).toBe(2 ** 20 + 2 ** 16);
    expect(set.has(n - 1)).toBe(true);
    expect(set.firstMissing(n - 1)).toBe(-1);
    expect(set.firstPresent(2 ** 20 + 2 ** 16)).toBe(n - 1);
  });

  it('an empty set over zero chunks is full', () => {
    const set = new ChunkSet(0);
    expect(set.full).toBe(true);
    expect(set.toRanges()).toEqual([]);
    expect(set.firstMissing(0)).toBe(-1);
  });

  it('fromRanges accepts touching ranges and rejects malformed ones with the given code', () => {
    expect(ChunkSet.fromRanges(10, [[0, 2], [2, 3], [8, 2]]).toRanges()).toEqual([[0, 5], [8, 2]]);
    const bad: unknown[] = [
      'x',
      [[0]],
      [[0, 1, 2]],
      [[0, 0]],
      [[-1, 2]],
      [[0, -1]],
      [[1.5, 1]],
      [[0, Number.NaN]],
      [['0', 1]],
      [[5, 1], [2, 1]],
      [[0, 3], [2, 1]],
      [[9, 2]],
      [[10, 1]],
      [[0, 2 ** 53]],
      [null],
    ];
    for (const r of bad) {
      expect(() => ChunkSet.fromRanges(10, r)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
      expect(() => ChunkSet.fromRanges(10, r, 'E_RESUME_STATE')).toThrow(
        expect.objectContaining({ code: 'E_RESUME_STATE' }),
      );
    }
  });
});

describe('ByteRanges', () => {
  it('matches a boolean-array model: new-byte counts, coverage and gaps', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 80 })), { maxLength: 30 }),
        fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 })),
        (adds, [q1, q2]) => {
          const r = new ByteRanges();
          const bits = new Array<boolean>(400).fill(false);
          for (const [s, len] of adds) {
            let fresh = 0;
            for (let k = s; k < s + len; k++) if (!bits[k]) fresh++;
            expect(r.add(s, s + len)).toBe(fresh);
            for (let k = s; k < s + len; k++) bits[k] = true;
          }
          expect(r.covered).toBe(bits.filter(Boolean).length);
          const [a, b] = q1 <= q2 ? [q1, q2] : [q2, q1];
          const gapStart = bits.slice(a, b).indexOf(false);
          const gap = r.firstGap(a, b);
          if (gapStart < 0) {
            expect(gap).toBeNull();
            expect(r.has(a, b)).toBe(true);
          } else {
            let e = a + gapStart;
            while (e < b && !bits[e]) e++;
            expect(gap).toEqual([a + gapStart, e]);
            expect(r.has(a, b)).toBe(false);
          }
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });
});
