import { describe, expect, it } from 'vitest';
import { LogLimiter } from '../src/log-limit.js';

describe('LogLimiter', () => {
  it('lets a key through once per perKeyMs and at most burst lines a window, handing the count held back to the next line', () => {
    let now = 0;
    const l = new LogLimiter({ perKeyMs: 1000, burst: 3, windowMs: 5000, now: () => now });
    expect(l.take('a')).toEqual({ held: 0 });
    expect(l.take('a')).toBeNull();
    expect(l.take('b')).toEqual({ held: 1 });
    expect(l.take('c')).toEqual({ held: 0 });
    expect(l.take('d')).toBeNull(); // burst spent
    now = 1500;
    expect(l.take('a')).toBeNull(); // its key is free again, the window is not
    now = 5000;
    expect(l.take('d')).toEqual({ held: 2 });
    expect(l.take('a')).toEqual({ held: 0 });
  });

  it('forgets the oldest keys past maxKeys', () => {
    let now = 0;
    const l = new LogLimiter({ perKeyMs: 60_000, burst: 100, windowMs: 1, maxKeys: 2, now: () => now });
    for (const k of ['a', 'b', 'c']) {
      expect(l.take(k)).not.toBeNull();
      now += 1;
    }
    expect(l.take('a')).not.toBeNull(); // forgotten: let through again
    expect(l.take('c')).toBeNull();
  });
});
