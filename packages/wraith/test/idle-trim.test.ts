import { createRequire } from 'node:module';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IDLE_BYTES, trimWhenIdle } from '../src/node/idle-trim.js';
import { itIf } from '../../../test/support/prereq.js';

const native = createRequire(import.meta.url)('@wraith/native') as { native: { mallocTrim(): boolean } | null; loadError: string | null };

afterEach(() => vi.useRealTimers());

function setup(trimmer: (() => boolean) | null = () => true) {
  vi.useFakeTimers();
  let bytes = 0;
  const calls: string[] = [];
  const stop = trimWhenIdle({ read: async () => bytes }, pino({ level: 'silent' }), {
    everyMs: 1000,
    gc: () => calls.push('gc'),
    trim: trimmer === null ? null : () => (calls.push('trim'), trimmer()),
    rss: () => 1,
  });
  return { stop, calls, add: (n: number) => (bytes += n) };
}

describe('trimWhenIdle', () => {
  it('collects and trims once, in the first quiet interval after one with traffic', async () => {
    const t = setup();
    await vi.advanceTimersByTimeAsync(0);
    t.add(64 * IDLE_BYTES); // a transfer before the first tick counts too
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.calls).toEqual([]);
    t.add(IDLE_BYTES - 1); // keep-alives: quiet
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.calls).toEqual(['gc', 'trim']);
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.calls).toEqual(['gc', 'trim']); // once per burst
    t.add(10 * IDLE_BYTES);
    await vi.advanceTimersByTimeAsync(1000);
    t.add(10 * IDLE_BYTES);
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.calls).toHaveLength(2); // not while traffic flows
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.calls).toEqual(['gc', 'trim', 'gc', 'trim']);
    t.stop();
    t.add(10 * IDLE_BYTES);
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.calls).toHaveLength(4);
  });

  it('a daemon that never had traffic is left alone; without the addon nothing runs', async () => {
    const quiet = setup();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(quiet.calls).toEqual([]);
    quiet.stop();
    const none = setup(null);
    none.add(64 * IDLE_BYTES);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(none.calls).toEqual([]);
    none.stop();
  });

  itIf(native.native === null ? `no addon: ${native.loadError}` : null, 'the addon trims for real (glibc: a boolean)', () => {
    expect(typeof native.native!.mallocTrim()).toBe('boolean');
  });
});
