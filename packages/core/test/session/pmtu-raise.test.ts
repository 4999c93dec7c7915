import { describe, expect, it } from 'vitest';
import { PROBE_FIRST, PROBE_MAX, PROBE_NEXT, PmtuRaise } from '../../src/session/pmtu-raise.js';
import { secs } from '../../src/time.js';

describe('PmtuRaise', () => {
  it('nothing to probe without a black hole', () => {
    const p = new PmtuRaise();
    expect(p.limit).toBe(Infinity);
    expect(p.due(secs(1000), 1452)).toBeNull();
  });

  it('tries the full size first, then halves towards the smallest size lost, and settles', () => {
    const p = new PmtuRaise();
    let t = secs(10);
    p.onBlackHole(t, 1200);
    expect(p.limit).toBe(1200);
    expect(p.due(t + PROBE_FIRST - 1, 1452)).toBeNull();
    t += PROBE_FIRST;
    const seen: number[] = [];
    // A 1400-byte link: sizes above it are lost, the rest get through.
    for (let i = 0; i < 2000 && seen.length < 5; i++) {
      const size = p.due(t, 1452);
      if (size === null) {
        t += secs(1);
        continue;
      }
      seen.push(size);
      p.sent(size);
      expect(p.due(t, 1452)).toBeNull(); // one probe at a time
      if (size <= 1400) p.acked(t, size, 1452);
      else p.lost(t, size);
    }
    expect(seen.slice(0, 5)).toEqual([1452, 1326, 1389, 1420, 1404]);
    expect(p.limit).toBe(1389);
    // Settled (1404 - 1389 <= 16): the next attempt, the full size again, waits PROBE_MAX.
    const settledAt = t;
    let next = t;
    while (p.due(next, 1452) === null) next += secs(1);
    expect(next - settledAt).toBeGreaterThan(PROBE_MAX - secs(30));
    expect(p.due(next, 1452)).toBe(1452);
  });

  it('waits double after each loss up to PROBE_MAX, and reset once a probe gets through', () => {
    const p = new PmtuRaise();
    let t = 0;
    p.onBlackHole(t, 1200);
    const gaps: number[] = [];
    let last = t;
    for (let i = 0; i < 6; i++) {
      while (p.due(t, 1452) === null) t += secs(1);
      gaps.push(t - last);
      last = t;
      const size = p.due(t, 1452)!;
      p.sent(size);
      p.lost(t, size > 1210 ? 1201 : size); // nothing gets through
    }
    expect(gaps[0]).toBe(PROBE_FIRST);
    expect(gaps.slice(1).every((g) => g >= PROBE_MAX - secs(1))).toBe(true); // settled at once: 1201 - 1200 <= 16
    const q = new PmtuRaise();
    q.onBlackHole(0, 1200);
    q.sent(q.due(PROBE_FIRST, 1452)!);
    q.lost(PROBE_FIRST, 1452); // the full size lost: wait 2 x PROBE_FIRST
    expect(q.due(PROBE_FIRST + 2 * PROBE_FIRST - 1, 1452)).toBeNull();
    expect(q.due(PROBE_FIRST + 2 * PROBE_FIRST, 1452)).toBe(1326);
    q.sent(1326);
    expect(q.acked(secs(30), 1326, 1452)).toBe(true);
    expect(q.due(secs(30) + PROBE_NEXT, 1452)).toBe(1389);
  });

  it('a ceiling that came down to the limit ends the search; a full-size probe that got through ends it too', () => {
    const p = new PmtuRaise();
    p.onBlackHole(0, 1200);
    expect(p.due(PROBE_FIRST, 1200)).toBeNull();
    expect(p.limit).toBe(Infinity);
    const q = new PmtuRaise();
    q.onBlackHole(0, 1200);
    q.sent(q.due(PROBE_FIRST, 1452)!);
    expect(q.acked(PROBE_FIRST, 1452, 1452)).toBe(true);
    expect(q.limit).toBe(Infinity);
    expect(q.due(secs(10_000), 1452)).toBeNull();
  });
});
