import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AckTracker } from '../../src/recovery/ack-tracker.js';
import { NEVER } from '../../src/time.js';

const copy = (t: AckTracker, now = 0): { largest: number; ackDelay: number; ranges: Array<[number, number]> } | null => {
  const a = t.buildAck(now);
  return a === null ? null : { largest: a.largest, ackDelay: a.ackDelay, ranges: a.ranges.map(([lo, hi]) => [lo, hi]) };
};

describe('AckTracker', () => {
  it('merges in-order packets into one range', () => {
    const t = new AckTracker();
    for (let pn = 0; pn < 10; pn++) t.onPacketReceived(1000 + pn, pn, true);
    expect(copy(t, 2000)).toEqual({ largest: 9, ackDelay: 2000 - 1009, ranges: [[0, 9]] });
  });

  it('keeps gaps as separate ranges, descending, and merges when a gap fills', () => {
    const t = new AckTracker();
    for (const pn of [0, 1, 2, 5, 6, 9]) t.onPacketReceived(0, pn, true);
    expect(copy(t)?.ranges).toEqual([[9, 9], [5, 6], [0, 2]]);
    t.onPacketReceived(0, 4, true);
    t.onPacketReceived(0, 3, true);
    expect(copy(t)?.ranges).toEqual([[9, 9], [0, 6]]);
    t.onPacketReceived(0, 8, true);
    t.onPacketReceived(0, 7, true);
    expect(copy(t)?.ranges).toEqual([[0, 9]]);
  });

  it('reports duplicates', () => {
    const t = new AckTracker();
    expect(t.onPacketReceived(0, 5, true)).toBe(true);
    expect(t.onPacketReceived(0, 5, true)).toBe(false);
  });

  it('bounds the number of ranges, forgetting the oldest', () => {
    const t = new AckTracker({ maxRanges: 4 });
    for (let pn = 0; pn < 20; pn += 2) t.onPacketReceived(0, pn, false);
    const a = copy(t);
    expect(a?.ranges).toEqual([[18, 18], [16, 16], [14, 14], [12, 12]]);
    // Too old to track with no room: refused.
    expect(t.onPacketReceived(0, 1, true)).toBe(false);
    expect(t.rangeCount).toBe(4);
  });

  it('ack deadline: NEVER without ack-eliciting packets, max_ack_delay after the first, now at the threshold', () => {
    const t = new AckTracker({ maxAckDelay: 25_000, ackElicitingThreshold: 2 });
    expect(t.ackDeadline()).toBe(NEVER);
    t.onPacketReceived(100, 0, false);
    expect(t.ackDeadline()).toBe(NEVER);
    t.onPacketReceived(200, 1, true);
    expect(t.ackDeadline()).toBe(25_200);
    t.onPacketReceived(300, 2, true);
    expect(t.ackDeadline()).toBe(300);
    expect(copy(t, 300)?.ranges).toEqual([[0, 2]]);
    t.onAckSent(300);
    expect(t.ackDeadline()).toBe(NEVER);
    expect(t.buildAck(400)).toBeNull(); // nothing new since the last ACK
    t.onPacketReceived(500, 3, true);
    expect(t.ackDeadline()).toBe(25_500);
  });

  it('acknowledges reordering and new gaps at once (RFC 9000 §13.2.1)', () => {
    const t = new AckTracker({ maxAckDelay: 25_000, ackElicitingThreshold: 10 });
    t.onPacketReceived(0, 0, true);
    t.onAckSent(0);
    t.onPacketReceived(10, 2, true); // gap at 1
    expect(t.ackDeadline()).toBe(10);
    t.onAckSent(10);
    t.onPacketReceived(20, 1, true); // fills the gap
    expect(t.ackDeadline()).toBe(20);
  });

  it('property: ranges are descending, disjoint, non-adjacent, bounded, and exactly the newest received numbers', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 400 }), fc.integer({ min: 1, max: 40 }), (pns, maxRanges) => {
        const t = new AckTracker({ maxRanges });
        const accepted = new Set<number>();
        for (const pn of pns) if (t.onPacketReceived(0, pn, true)) accepted.add(pn);
        const a = t.buildAck(0);
        if (accepted.size === 0) return a === null;
        if (a === null) return false;
        const r = a.ranges;
        if (r.length > maxRanges || r.length === 0) return false;
        if (a.largest !== Math.max(...accepted) || r[0]?.[1] !== a.largest) return false;
        const covered = new Set<number>();
        for (let i = 0; i < r.length; i++) {
          const [lo, hi] = r[i] as [number, number];
          if (lo > hi) return false;
          if (i > 0 && (r[i - 1] as [number, number])[0] <= hi + 1) return false; // descending, a gap between
          for (let p = lo; p <= hi; p++) covered.add(p);
        }
        // Everything reported was received; everything received above the lowest range is reported.
        const floor = (r[r.length - 1] as [number, number])[0];
        for (const p of covered) if (!accepted.has(p)) return false;
        for (const p of accepted) if (p >= floor && !covered.has(p)) return false;
        return true;
      }),
      { seed: 0x5eed, numRuns: 300 },
    );
  });
});
