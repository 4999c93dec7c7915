import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TimerQueue } from '../src/timer-queue.js';

const NEVER = Number.POSITIVE_INFINITY;

describe('TimerQueue', () => {
  it('agrees with a plain map under random sets, deletes and due() calls', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('set' as const), key: fc.integer({ min: 0, max: 9 }), at: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constant(NEVER)) }),
      fc.record({ k: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ k: fc.constant('due' as const), now: fc.integer({ min: 0, max: 50 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const q = new TimerQueue<number>();
        const ref = new Map<number, number>();
        for (const o of ops) {
          if (o.k === 'set') {
            if (o.at === NEVER) ref.delete(o.key);
            else ref.set(o.key, o.at);
            q.set(o.key, o.at);
          } else if (o.k === 'delete') {
            ref.delete(o.key);
            q.delete(o.key);
          } else {
            const want = [...ref].filter(([, at]) => at <= o.now).map(([key]) => key).sort();
            for (const key of want) ref.delete(key);
            expect([...q.due(o.now)].sort()).toEqual(want);
          }
          expect(q.next()).toBe(ref.size === 0 ? NEVER : Math.min(...ref.values()));
          expect(q.size).toBe(ref.size);
        }
      }),
    );
  });

  it('keeps its heap bounded when one key is re-armed again and again', () => {
    const q = new TimerQueue<string>();
    for (let i = 0; i < 100_000; i++) q.set('a', 1_000_000 - i);
    q.set('b', 5);
    expect(q.next()).toBe(5);
    expect((q as unknown as { heap: unknown[] }).heap.length).toBeLessThan(200);
    expect(q.due(5)).toEqual(['b']);
    expect(q.next()).toBe(1_000_000 - 99_999);
  });
});
