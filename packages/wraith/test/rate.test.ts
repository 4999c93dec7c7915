import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateMeter, TokenBucket } from '../src/node/rate.js';

// Both clocks faked: the meters read the monotonic one, and the wall clock is stepped to show it.
const CLOCKS = ['Date', 'performance', 'setTimeout', 'clearTimeout'] as const;

afterEach(() => {
  vi.useRealTimers();
});

describe('RateMeter', () => {
  it('averages over its window; restart() drops the time before it', () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: [...CLOCKS] });
    const m = new RateMeter(5);
    vi.advanceTimersByTime(3000); // 3 s with nothing (a send waiting for its hashing)
    m.add(1000);
    vi.advanceTimersByTime(1000);
    expect(m.rate()).toBeCloseTo(250, 0); // 1000 B over 4 s
    const r = new RateMeter(5);
    vi.advanceTimersByTime(3000);
    r.restart();
    r.add(1000);
    vi.advanceTimersByTime(1000);
    expect(r.rate()).toBeCloseTo(1000, 0);
  });

  it('keeps its rate when the wall clock steps back an hour (NTP, a resumed VM)', () => {
    vi.useFakeTimers({ now: 1_800_000_000_000, toFake: [...CLOCKS] });
    const m = new RateMeter(5);
    m.add(1000);
    vi.advanceTimersByTime(1000);
    vi.setSystemTime(Date.now() - 3_600_000);
    m.add(1000);
    vi.advanceTimersByTime(1000);
    expect(m.rate()).toBeCloseTo(1000, 0);
  });
});

describe('TokenBucket (--rate)', () => {
  it('refills at its rate, and a wall clock stepped back an hour does not stall it for the hour', () => {
    vi.useFakeTimers({ now: 1_800_000_000_000, toFake: [...CLOCKS] });
    const b = new TokenBucket(1e6, 100_000);
    expect(b.take(100_000)).toBe(100_000);
    vi.setSystemTime(Date.now() - 3_600_000);
    vi.advanceTimersByTime(50);
    expect(b.take(100_000)).toBe(0);
    expect(b.waitMs(100_000)).toBe(50);
    vi.advanceTimersByTime(50);
    expect(b.take(100_000)).toBe(100_000);
  });
});
