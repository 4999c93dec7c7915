import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowedFilter } from '../../src/congestion/windowed-filter.js';

describe('WindowedFilter', () => {
  it('max over the current and previous cycle (length 2)', () => {
    const f = new WindowedFilter('max', 2);
    expect(f.update(100, 0)).toBe(100);
    expect(f.update(80, 1)).toBe(100); // cycle 0 still counts in cycle 1
    expect(f.update(70, 2)).toBe(80); // cycle 0 expired
    expect(f.update(60, 3)).toBe(70);
    expect(f.update(90, 3)).toBe(90);
  });

  it('min filter mirrors max', () => {
    const f = new WindowedFilter('min', 10);
    f.update(50, 0);
    expect(f.update(70, 5)).toBe(50);
    expect(f.update(60, 9)).toBe(50);
    expect(f.update(65, 10)).toBe(60);
  });

  it('property: the estimate lies between the newest sample and the true windowed best', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1000 })), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 12 }),
        (steps, len) => {
          const f = new WindowedFilter('max', len);
          const seen: Array<[number, number]> = [];
          let t = 0;
          for (const [dt, v] of steps) {
            t += dt;
            seen.push([t, v]);
            const est = f.update(v, t);
            const truth = Math.max(...seen.filter(([ts]) => t - ts < len).map(([, x]) => x));
            if (est < v || est > truth) return false;
          }
          return true;
        },
      ),
      { seed: 0xf17e, numRuns: 300 },
    );
  });
});
