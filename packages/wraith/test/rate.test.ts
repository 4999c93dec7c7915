import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateMeter } from '../src/node/rate.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('RateMeter', () => {
  it('averages over its window; restart() drops the time before it', () => {
    vi.useFakeTimers({ now: 1_000_000 });
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
});
