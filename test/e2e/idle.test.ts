/**
 * An idle daemon sleeps: its main thread wakes about once a second (the stats timer), ten times
 * a second with the admin API on (event-loop lag sampling). prom-client's default 10 ms lag
 * sampling had it wake 100 times a second whether anyone read the metrics or not.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Scope } from '../support/procs.js';

const scope = new Scope('idle');
afterAll(() => scope.dispose());

/** Times the main thread of `pid` went to sleep (voluntary context switches). */
function sleeps(pid: number): number {
  const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no voluntary_ctxt_switches for ${pid}`);
  return Number(m[1]);
}

async function wakeupsPerSecond(pid: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 1000)); // start-up settles
  const a = sleeps(pid);
  await new Promise((r) => setTimeout(r, 3000));
  return (sleeps(pid) - a) / 3;
}

describe('an idle daemon', () => {
  it('without the admin API wakes a few times a second at most', async () => {
    const d = await scope.daemon({ home: await scope.home('off') });
    const rate = await wakeupsPerSecond(d.pid);
    expect(rate).toBeLessThan(10);
  });

  it('with the admin API (process metrics on) wakes well under 100 times a second', async () => {
    const d = await scope.daemon({ home: await scope.home('on'), adminListen: '127.0.0.1:0' });
    const rate = await wakeupsPerSecond(d.pid);
    expect(rate).toBeLessThan(40);
  });
});
